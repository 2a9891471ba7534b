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
}
