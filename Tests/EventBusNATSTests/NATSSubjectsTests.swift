import EventBus
import EventBusNATS
import XCTest

final class NATSSubjectsTests: XCTestCase {
    private let subjects = NATSSubjects(prefix: "eventbus", deadLetterSuffix: ".dlq")

    func testSubjectPrefixesTopicWhenTopicIsOneToken() throws {
        XCTAssertEqual(try subjects.subject(forTopic: "orders"), "eventbus.orders")
        XCTAssertEqual(try subjects.subject(forTopic: "order-events_v2"), "eventbus.order-events_v2")
    }

    func testSubjectThrowsInvalidArgumentWhenTopicIsNotOneToken() {
        for topic in ["", "orders.created", "orders*", ">", "a b", "ü"] {
            XCTAssertThrowsError(try subjects.subject(forTopic: topic), "topic '\(topic)'") { error in
                XCTAssertEqual((error as? EventBusError)?.code, .invalidArgument)
                XCTAssertEqual((error as? EventBusError)?.field, "topic")
            }
        }
    }

    func testDeadLetterSubjectAppendsSuffixWhenTopicIsValid() throws {
        XCTAssertEqual(try subjects.deadLetterSubject(forTopic: "orders"), "eventbus.orders.dlq")
    }

    func testMatchesFollowsNATSWildcardsWhenPatternHasStarOrGreaterThan() {
        XCTAssertTrue(NATSSubjects.matches(pattern: "eventbus.*", subject: "eventbus.orders"))
        XCTAssertFalse(NATSSubjects.matches(pattern: "eventbus.*", subject: "eventbus.orders.dlq"))
        XCTAssertTrue(NATSSubjects.matches(pattern: "eventbus.>", subject: "eventbus.orders.dlq"))
        XCTAssertFalse(NATSSubjects.matches(pattern: "eventbus.>", subject: "eventbus"))
        XCTAssertTrue(NATSSubjects.matches(pattern: "eventbus.*.dlq", subject: "eventbus.orders.dlq"))
        XCTAssertTrue(NATSSubjects.matches(pattern: "eventbus.orders", subject: "eventbus.orders"))
        XCTAssertFalse(NATSSubjects.matches(pattern: "eventbus.orders", subject: "eventbus.payments"))
        XCTAssertFalse(NATSSubjects.covers(["other.*"], subject: "eventbus.orders"))
    }

    func testDurableNameJoinsPrefixTopicAndGroupWhenValid() throws {
        XCTAssertEqual(
            try NATSSubjects.durableName(prefix: "eventbus", topic: "orders", group: "billing"),
            "eventbus_orders_billing")
        XCTAssertThrowsError(try NATSSubjects.durableName(prefix: "eventbus", topic: "orders", group: "a.b"))
    }

    func testSubjectThrowsInvalidArgumentWhenTopicNamesDeadLetters() {
        XCTAssertThrowsError(try subjects.subject(forTopic: "orders.dlq")) { error in
            XCTAssertEqual((error as? EventBusError)?.code, .invalidArgument)
        }
    }

    func testConsumerNamesKeepTheirOldSpellingWhenTopicAndGroupHaveNoUnderscore() throws {
        XCTAssertEqual(
            try NATSSubjects.laneConsumerNames(
                prefix: "eventbus", topic: "order-events", group: "billing", partitions: 2),
            [
                "eventbus_order-events_billing_p0", "eventbus_order-events_billing_p1",
                "eventbus_order-events_billing_plain",
            ])
        XCTAssertEqual(
            try NATSSubjects.deadLetterDurableName(prefix: "eventbus", topic: "orders", group: "ops"),
            "eventbus_dlq_orders_ops")
    }

    func testConsumerNamesDifferWhenTopicAndGroupSplitAtAnUnderscoreDifferently() throws {
        let first = try NATSSubjects.laneConsumerNames(prefix: "eventbus", topic: "T_x", group: "y", partitions: 8)
        let second = try NATSSubjects.laneConsumerNames(prefix: "eventbus", topic: "T", group: "x_y", partitions: 8)
        XCTAssertEqual(first.last, "eventbus_T~x_y_plain")
        XCTAssertEqual(second.last, "eventbus_T_x~y_plain")
        XCTAssertTrue(Set(first).isDisjoint(with: second))
        XCTAssertNotEqual(
            try NATSSubjects.deadLetterDurableName(prefix: "eventbus", topic: "T_x", group: "y"),
            try NATSSubjects.deadLetterDurableName(prefix: "eventbus", topic: "T", group: "x_y"))
    }

    func testConsumerNamesDifferWhenAGroupEndsLikeAnotherGroupsLane() throws {
        let lanes = try NATSSubjects.laneConsumerNames(prefix: "eventbus", topic: "T", group: "g", partitions: 8)
        for group in ["g_p3", "g_plain", "g_p3_plain", "g_p"] {
            let other = try NATSSubjects.laneConsumerNames(prefix: "eventbus", topic: "T", group: group, partitions: 8)
            XCTAssertTrue(Set(lanes).isDisjoint(with: other), group)
        }
    }

    /// Every topic and group of 1 to 3 characters over an alphabet of separators and lane letters,
    /// every lane: no two (topic, group, lane) triples share a consumer name, in either stream.
    func testConsumerNamesAreOneToOneWhenEveryShortPairIsEnumerated() throws {
        let alphabet = ["a", "_", "-", "p", "3"]
        var parts: [String] = []
        var layer = [""]
        for _ in 1...3 {
            layer = layer.flatMap { part in alphabet.map { part + $0 } }
            parts += layer
        }
        XCTAssertEqual(parts.count, 5 + 25 + 125)
        var laneNames = Set<String>()
        var deadLetterNames = Set<String>()
        var pairs = 0
        for topic in parts {
            for group in parts {
                let lanes = try NATSSubjects.laneConsumerNames(prefix: "eb", topic: topic, group: group, partitions: 4)
                for name in lanes {
                    XCTAssertTrue(laneNames.insert(name).inserted, "\(name) from (\(topic), \(group)) taken twice")
                }
                let deadLetters = try NATSSubjects.deadLetterDurableName(prefix: "eb", topic: topic, group: group)
                XCTAssertTrue(deadLetterNames.insert(deadLetters).inserted, "\(deadLetters) taken twice")
                pairs += 1
            }
        }
        XCTAssertEqual(laneNames.count, pairs * 5)
        XCTAssertEqual(deadLetterNames.count, pairs)
    }

    func testConsumerNamesThrowInvalidArgumentWhenLongerThanNATSAllows() throws {
        let topic = String(repeating: "t", count: 200)
        // eventbus_ + 200 + _ + 39 + _plain = 255 bytes, the server's limit.
        let names = try NATSSubjects.laneConsumerNames(
            prefix: "eventbus", topic: topic, group: String(repeating: "g", count: 39), partitions: 1024)
        XCTAssertEqual(names.map(\.utf8.count).max(), NATSSubjects.maxConsumerNameLength)
        XCTAssertThrowsError(
            try NATSSubjects.laneConsumerNames(
                prefix: "eventbus", topic: topic, group: String(repeating: "g", count: 40), partitions: 1)
        ) { error in
            XCTAssertEqual((error as? EventBusError)?.code, .invalidArgument)
            XCTAssertEqual((error as? EventBusError)?.field, "group")
        }
        // A longer durable prefix leaves less room: the NATS bus's own rule on top of EventBusNames.
        XCTAssertThrowsError(
            try NATSSubjects.laneConsumerNames(
                prefix: "eventbus-long", topic: topic, group: String(repeating: "g", count: 39), partitions: 1))
    }
}
