import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Records every handler call of a consumer group whose membership changes: which member ran it,
/// for which key and version, when it began and ended, and whether it succeeded.
///
/// From that record ``report(keys:versions:)`` derives what the ordering contract forbids: messages
/// never handled, first handlings of a key out of publish order, and calls for one key that ran at
/// the same time (on one member or on two).
///
/// Times are `CLOCK_MONOTONIC` nanoseconds, which every process on one machine shares, so calls
/// made in a child process (``record(member:key:version:start:end:succeeded:)``) compare with
/// calls made here.
public final class HandlingLedger: Sendable {
    private struct Call {
        let member: Int
        let key: String
        let version: Int
        let start: UInt64
        var end: UInt64?
        var succeeded = false
    }

    private struct State {
        var calls: [Call] = []
        var handled: Set<Version> = []
    }

    private struct Version: Hashable {
        let key: String
        let version: Int
    }

    private let state = Mutex(State())

    /// Creates an empty ledger.
    public init() {}

    /// The machine's monotonic clock in nanoseconds, the time base of every record.
    public static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Records a whole call made elsewhere (another process), with times from ``now()`` there.
    public func record(member: Int, key: String, version: Int, start: UInt64, end: UInt64, succeeded: Bool) {
        let index = begin(member: member, key: key, version: version, at: start)
        self.end(index, succeeded: succeeded, at: end)
    }

    /// Records that `member` began handling `version` of `key`; pass the result to ``end(_:succeeded:)``.
    public func begin(member: Int, key: String, version: Int) -> Int {
        begin(member: member, key: key, version: version, at: Self.now())
    }

    private func begin(member: Int, key: String, version: Int, at now: UInt64) -> Int {
        return state.withLock { state in
            state.calls.append(Call(member: member, key: key, version: version, start: now))
            return state.calls.count - 1
        }
    }

    /// Records that the call `index` returned (`succeeded`) or threw.
    public func end(_ index: Int, succeeded: Bool) {
        end(index, succeeded: succeeded, at: Self.now())
    }

    private func end(_ index: Int, succeeded: Bool, at now: UInt64) {
        state.withLock { state in
            state.calls[index].end = now
            state.calls[index].succeeded = succeeded
            if succeeded {
                let call = state.calls[index]
                state.handled.insert(Version(key: call.key, version: call.version))
            }
        }
    }

    /// How many different (key, version) pairs were handled successfully.
    public var handledCount: Int { state.withLock { $0.handled.count } }

    /// How many successful calls each member made.
    public var handledPerMember: [Int: Int] {
        state.withLock { state in
            var counts: [Int: Int] = [:]
            for call in state.calls where call.succeeded { counts[call.member, default: 0] += 1 }
            return counts
        }
    }

    /// When the earliest recorded call of `member` began, or nil when it made none.
    public func firstStart(of member: Int) -> UInt64? {
        state.withLock { state in state.calls.lazy.filter { $0.member == member }.map(\.start).min() }
    }

    /// How long after `time` another member first began a call for a key that `member` had handled
    /// before `time`: the takeover after `member` left at `time`; nil when none did.
    public func takeover(from member: Int, leftAt time: UInt64) -> Duration? {
        state.withLock { state in
            let keys = Set(state.calls.lazy.filter { $0.member == member && $0.start < time }.map(\.key))
            let first = state.calls.lazy.filter { $0.member != member && $0.start >= time && keys.contains($0.key) }
                .map(\.start).min()
            return first.map { .nanoseconds(Int64($0 - time)) }
        }
    }

    /// What the record shows against the contract, for `keys` each published as versions `1...versions`.
    public func report(keys: [String], versions: Int) -> MembershipReport {
        let now = Self.now()
        let calls = state.withLock { $0.calls }
        var byKey: [String: [Call]] = [:]
        for call in calls { byKey[call.key, default: []].append(call) }
        var report = MembershipReport()
        for key in keys {
            let keyCalls = (byKey[key] ?? []).sorted { $0.start < $1.start }
            var successes = [Int](repeating: 0, count: versions + 1)
            var highestFirst = 0
            var latestEnd: UInt64?
            for call in keyCalls {
                if let latestEnd, call.start < latestEnd {
                    report.overlaps += 1
                    if report.overlapSamples.count < 5 {
                        report.overlapSamples.append("\(key) v\(call.version) on member \(call.member)")
                    }
                }
                let end = call.end ?? now
                latestEnd = latestEnd.map { max($0, end) } ?? end
                guard call.succeeded, (1...versions).contains(call.version) else { continue }
                successes[call.version] += 1
                guard successes[call.version] == 1 else {
                    report.duplicates += 1
                    continue
                }
                if call.version < highestFirst {
                    report.orderViolations += 1
                    if report.orderSamples.count < 5 {
                        report.orderSamples.append(
                            "\(key) v\(call.version) first handled after v\(highestFirst) (member \(call.member))")
                    }
                }
                highestFirst = max(highestFirst, call.version)
            }
            for version in 1...versions where successes[version] == 0 {
                report.lost += 1
                if report.lostSamples.count < 5 { report.lostSamples.append("\(key) v\(version)") }
            }
        }
        return report
    }
}

/// What a ``HandlingLedger`` shows against the ordering contract.
public struct MembershipReport: Sendable, CustomStringConvertible {
    /// Published versions that no member handled successfully.
    public var lost = 0
    /// Successful handlings beyond the first of the same version.
    public var duplicates = 0
    /// First successful handlings of a key that came after a later version's.
    public var orderViolations = 0
    /// Handler calls for a key that began while another call for the same key was still running.
    public var overlaps = 0
    var lostSamples: [String] = []
    var orderSamples: [String] = []
    var overlapSamples: [String] = []

    /// Whether the contract held: nothing lost, no order violation, no overlap (duplicates allowed).
    public var keptContract: Bool { lost == 0 && orderViolations == 0 && overlaps == 0 }

    public var description: String {
        var text = "lost \(lost), duplicates \(duplicates), order violations \(orderViolations), overlaps \(overlaps)"
        if !lostSamples.isEmpty { text += "; lost e.g. \(lostSamples)" }
        if !orderSamples.isEmpty { text += "; out of order e.g. \(orderSamples)" }
        if !overlapSamples.isEmpty { text += "; overlapping e.g. \(overlapSamples)" }
        return text
    }
}
