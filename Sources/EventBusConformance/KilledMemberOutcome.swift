/// What a ``KilledMemberScenario`` saw.
public struct KilledMemberOutcome: Sendable, CustomStringConvertible {
    /// The ledger's verdict over every published (key, version).
    public var report: MembershipReport
    /// Successful handler calls per member: 0 is the killed child, 1 the successor.
    public var handledPerMember: [Int: Int]
    /// Different (key, version) pairs handled when the child was killed.
    public var handledAtKill: Int
    /// Messages published.
    public var total: Int
    /// From the child's first handler call to the `SIGKILL`.
    public var childRan: Duration
    /// From the `SIGKILL` to the successor's first handler call; zero when it made none.
    public var takeover: Duration

    /// The takeover time in whole milliseconds.
    public var takeoverMilliseconds: Int { Int((takeover / .milliseconds(1)).rounded()) }

    /// What went wrong besides the ledger's verdict: the child must have handled messages before
    /// it was killed and left some, and the successor must have handled the rest. Empty when fine.
    public var problems: [String] {
        let child = handledPerMember[0, default: 0]
        let successor = handledPerMember[1, default: 0]
        var problems: [String] = []
        if child == 0 { problems.append("the child handled nothing before it was killed") }
        if handledAtKill >= total { problems.append("the child handled everything before it was killed") }
        if successor < total - handledAtKill {
            problems.append("the successor handled \(successor), fewer than the \(total - handledAtKill) left")
        }
        if takeover <= .zero { problems.append("the successor handled nothing after the kill") }
        return problems
    }

    public var description: String {
        let perMember = handledPerMember.sorted { $0.key < $1.key }.map { "member \($0.key): \($0.value)" }
        let ran = Int((childRan / .milliseconds(1)).rounded())
        return "\(total) messages; the child handled \(handledAtKill) in \(ran) ms and was killed; \(report); "
            + "handled per member [\(perMember.joined(separator: ", "))]; "
            + "takeover after SIGKILL: \(takeoverMilliseconds) ms"
            + (report.duplicates >= handledAtKill
                ? "; the successor repeated everything the child handled: none of the child's "
                    + "acknowledgements had reached the broker when it was killed" : "")
    }
}
