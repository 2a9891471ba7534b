import EventBus
import XCTest

final class EventBusNamesTests: XCTestCase {
    private func assertInvalid(
        _ field: String, file: StaticString = #filePath, line: UInt = #line,
        _ operation: () throws(EventBusError) -> Void
    ) {
        do {
            try operation()
            XCTFail("accepted", file: file, line: line)
        } catch {
            XCTAssertEqual(error.code, .invalidArgument, error.description, file: file, line: line)
            XCTAssertEqual(error.field, field, error.description, file: file, line: line)
        }
    }

    func testValidateTopicThrowsInvalidArgumentWhenKafkaOrNATSWouldRefuseTheName() {
        let names = [
            "", "orders events", "orders/v1", "ordérs", String(repeating: "a", count: 250), ".", "..", "orders\n",
            "orders*", "orders>", "orders.v1", "orders.dlq.dlq", ".dlq", "orders_dlq", "orders_dlq.dlq",
        ]
        for name in names {
            assertInvalid("topic") { () throws(EventBusError) in
                try EventBusNames.validateTopic(name, deadLetterSuffix: ".dlq")
            }
        }
    }

    func testValidateTopicAcceptsWhenNameIsAtTheEdgeOfKafkasRule() throws {
        for name in [
            String(repeating: "a", count: 249), "a", "a-b_c", "Orders-V2_9", "orders.dlq",
            String(repeating: "b", count: 245) + ".dlq", "orders_dlqx", "orders-dlq",
        ] {
            XCTAssertNoThrow(try EventBusNames.validateTopic(name, deadLetterSuffix: ".dlq"), name)
        }
    }

    func testValidateTopicUsesTheBackendsSuffixWhenOneIsConfigured() throws {
        try EventBusNames.validateTopic("orders.dead", deadLetterSuffix: ".dead")
        assertInvalid("topic") { () throws(EventBusError) in
            try EventBusNames.validateTopic("orders.dlq", deadLetterSuffix: ".dead")
        }
        assertInvalid("topic") { () throws(EventBusError) in
            try EventBusNames.validateTopic("orders_dead", deadLetterSuffix: ".dead")
        }
    }

    func testErrorNamesTheRuleWhenTopicHasADot() {
        do {
            try EventBusNames.validateTopic("orders.v1", deadLetterSuffix: ".dlq")
            XCTFail("accepted a dot")
        } catch {
            XCTAssertTrue(error.message.contains("'.' appears only in the dead-letter suffix"), error.message)
        }
    }

    func testValidateSubscriptionThrowsInvalidArgumentWhenGroupIsIllegal() {
        for group in ["", "billing team", "billing.v1", "billing*", "bïlling", "billing/x", "billing>", "a\u{0}"] {
            assertInvalid("group") { () throws(EventBusError) in
                try EventBusNames.validateSubscription(topic: "orders", group: group, deadLetterSuffix: ".dlq")
            }
        }
    }

    func testValidateSubscriptionAcceptsWhenTopicAndGroupAre239CharactersTogether() throws {
        let topic = String(repeating: "t", count: 200)
        try EventBusNames.validateSubscription(
            topic: topic, group: String(repeating: "g", count: 39), deadLetterSuffix: ".dlq")
        assertInvalid("group") { () throws(EventBusError) in
            try EventBusNames.validateSubscription(
                topic: topic, group: String(repeating: "g", count: 40), deadLetterSuffix: ".dlq")
        }
    }

    func testValidateSubscriptionThrowsWhenTheDeadLetterTopicWouldExceed249Characters() throws {
        // With a long suffix the dead-letter topic, not the group, is the tighter limit.
        let suffix = "." + String(repeating: "d", count: 31)
        try EventBusNames.validateSubscription(
            topic: String(repeating: "t", count: 217), group: "g", deadLetterSuffix: suffix)
        assertInvalid("topic") { () throws(EventBusError) in
            try EventBusNames.validateSubscription(
                topic: String(repeating: "t", count: 218), group: "g", deadLetterSuffix: suffix)
        }
    }

    func testValidateDeadLetterSuffixThrowsInvalidConfigurationWhenSuffixIsNotALegalKafkaTail() {
        for suffix in ["", "dlq", "-dlq", ". dlq", ".dlq*", "." + String(repeating: "d", count: 32)] {
            do {
                try EventBusNames.validateDeadLetterSuffix(suffix, field: "deadLetterSuffix")
                XCTFail("accepted suffix '\(suffix)'")
            } catch {
                XCTAssertEqual(error.code, .invalidConfiguration)
                XCTAssertEqual(error.field, "deadLetterSuffix")
            }
        }
        XCTAssertNoThrow(try EventBusNames.validateDeadLetterSuffix(".dlq", field: "deadLetterSuffix"))
        XCTAssertNoThrow(try EventBusNames.validateDeadLetterSuffix("-dead.letters", field: "deadLetterSuffix"))
    }

    func testDeadLetterBaseReturnsTheTopicWhenNameEndsInTheSuffix() {
        XCTAssertEqual(EventBusNames.deadLetterBase(of: "orders.dlq", deadLetterSuffix: ".dlq"), "orders")
        XCTAssertNil(EventBusNames.deadLetterBase(of: "orders", deadLetterSuffix: ".dlq"))
    }
}
