import EventBus
import EventBusConformance
import EventBusNATS
import Logging
import Synchronization
import XCTest

/// Claims of lanes whose consumers had never delivered when the member subscribed: they ask for a
/// whole batch, and must still hand a lane over in order when the consumer delivered to another
/// member meanwhile.
final class NATSClaimTests: XCTestCase {
    func testMemberTakesOverInOrderWhenBothClaimedFreshConsumersWithBatches() async throws {
        let url = try NATSTestEnvironment.requireBroker()
        let log = ClaimLog()
        let topic = NATSTestEnvironment.uniqueTopic()
        let keys = (0..<12).map { "k\($0)" }
        let versions = 60
        let ledger = HandlingLedger()
        var buses: [NATSEventBus] = []
        var subscriptions: [any Subscription] = []
        // Both members subscribe before anything is published, so both find every lane consumer
        // fresh and claim with whole batches; each ends up owning its share of the lanes.
        for member in 0..<2 {
            var configuration = NATSTestEnvironment.configuration(url: url)
            configuration.logger = Logger(label: "member-\(member)") { ClaimLogHandler(log: log, label: $0) }
            let bus = try await NATSEventBus.connect(configuration)
            buses.append(bus)
            subscriptions.append(
                try await bus.subscribe(topic: topic, group: "fresh") { message in
                    let parts = String(decoding: message.payload, as: UTF8.self).split(separator: ":")
                    let call = ledger.begin(member: member, key: String(parts[0]), version: Int(parts[1]) ?? -1)
                    try await Task.sleep(for: .milliseconds(2))
                    ledger.end(call, succeeded: true)
                })
        }
        var messages: [OutgoingMessage] = []
        for version in 1...versions {
            for key in keys {
                messages.append(OutgoingMessage(topic: topic, key: key, payload: Array("\(key):\(version)".utf8)))
            }
        }
        try await buses[1].publish(messages)
        try await NATSTestEnvironment.waitUntil("both members handling", timeout: .seconds(20)) {
            let perMember = ledger.handledPerMember
            return perMember.count == 2 && perMember.values.allSatisfy { $0 >= 20 }
        }
        // Member 0 leaves mid-stream. Member 1's open claims on its lanes still ask for whole
        // batches, and are answered by messages member 0 had been delivered: member 1 must wait
        // for those claims to end, rewind each lane to its ack floor, and go on in order.
        let leftAt = HandlingLedger.now()
        await subscriptions[0].close()
        await buses[0].shutdown()
        try await NATSTestEnvironment.waitUntil("every message handled", timeout: .seconds(30)) {
            ledger.handledCount == keys.count * versions
        }
        let report = ledger.report(keys: keys, versions: versions)
        XCTAssertTrue(report.keptContract, report.description)
        XCTAssertGreaterThan(log.awaitedClaims, 0, "no batch claim was answered by a message delivered before")
        let takeover = ledger.takeover(from: 0, leftAt: leftAt)
        XCTAssertNotNil(takeover)
        XCTAssertLessThan(takeover ?? .seconds(60), .seconds(3), "the rest of a claim's request is not waited out")
        print(
            "batch claims, member leaves: \(report.description); rewinds after a batch claim: \(log.awaitedClaims); "
                + "takeover \(takeover.map { "\($0)" } ?? "none")")
        await subscriptions[1].close()
        await buses[1].shutdown()
    }
}

/// Counts the subscriptions' "rewinding once the claim's request has ended" lines.
private final class ClaimLog: Sendable {
    private let count = Atomic<Int>(0)
    var awaitedClaims: Int { count.load(ordering: .relaxed) }
    func note(_ message: String) {
        if message.contains("rewinding once the claim's request has ended") { count.add(1, ordering: .relaxed) }
    }
}

private struct ClaimLogHandler: LogHandler {
    let log: ClaimLog
    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) { log.note("\(event.message)") }
}
