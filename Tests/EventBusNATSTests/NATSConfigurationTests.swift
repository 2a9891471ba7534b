import EventBus
import EventBusNATS
import XCTest

final class NATSConfigurationTests: XCTestCase {
    private func assertInvalid(
        _ configuration: NATSConfiguration, field: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try configuration.validate(), file: file, line: line) { error in
            let busError = error as? EventBusError
            XCTAssertEqual(busError?.code, .invalidConfiguration, file: file, line: line)
            XCTAssertEqual(busError?.field, field, file: file, line: line)
        }
    }

    func testValidatePassesWhenDefaults() throws {
        try NATSConfiguration().validate()
    }

    func testValidateThrowsWhenNoServers() {
        assertInvalid(NATSConfiguration(servers: []), field: "servers")
    }

    func testValidateThrowsWhenServerURLHasNoScheme() {
        assertInvalid(NATSConfiguration(servers: ["127.0.0.1:4222"]), field: "servers")
    }

    func testValidateThrowsWhenUserIsEmpty() {
        assertInvalid(
            NATSConfiguration(credentials: .userPassword(user: "", password: "secret")), field: "credentials")
    }

    func testValidateThrowsWhenStreamSubjectsAlsoCaptureDeadLetters() {
        var configuration = NATSConfiguration()
        configuration.stream.subjects = ["eventbus.>"]
        assertInvalid(configuration, field: "stream.subjects")
    }

    func testValidateThrowsWhenHealthBoundsAreOutOfRange() {
        var configuration = NATSConfiguration()
        configuration.health.probeTimeout = .microseconds(500)
        assertInvalid(configuration, field: "health.probeTimeout")
        configuration.health = NATSConfiguration.HealthSettings(unhealthyAfter: .seconds(-1))
        assertInvalid(configuration, field: "health.unhealthyAfter")
        configuration.health = NATSConfiguration.HealthSettings(probeTimeout: .milliseconds(1), unhealthyAfter: .zero)
        XCTAssertNoThrow(try configuration.validate())
    }

    func testValidateThrowsWhenFetchBatchIsOutOfRange() {
        var configuration = NATSConfiguration()
        configuration.consumer.fetchBatch = 0
        assertInvalid(configuration, field: "consumer.fetchBatch")
    }

    func testValidateThrowsWhenAckWaitIsTooShort() {
        var configuration = NATSConfiguration()
        configuration.consumer.ackWait = .milliseconds(10)
        assertInvalid(configuration, field: "consumer.ackWait")
    }

    func testValidateThrowsWhenFetchWaitExceedsQuarterOfAckWait() {
        var configuration = NATSConfiguration()
        configuration.consumer.ackWait = .seconds(1)
        configuration.consumer.fetchWait = .milliseconds(500)
        assertInvalid(configuration, field: "consumer.fetchWait")
    }

    func testValidateThrowsWhenDuplicateWindowIsZero() {
        var configuration = NATSConfiguration()
        configuration.stream.duplicateWindow = .zero
        assertInvalid(configuration, field: "stream.duplicateWindow")
    }

    func testValidateThrowsWhenSubjectPrefixHasWildcard() {
        assertInvalid(NATSConfiguration(subjectPrefix: "events.*"), field: "subjectPrefix")
    }

    func testValidateThrowsWhenDeadLetterSuffixLacksDot() {
        var configuration = NATSConfiguration()
        configuration.deadLetter.subjectSuffix = "dlq"
        assertInvalid(configuration, field: "deadLetter.subjectSuffix")
    }

    func testValidateThrowsWhenPoolIsInvalid() {
        var configuration = NATSConfiguration()
        configuration.pool.actorCount = 0
        assertInvalid(configuration, field: "actorCount")
    }

    func testConnectThrowsInvalidConfigurationWhenInvalidBeforeConnecting() async {
        do {
            _ = try await NATSEventBus.connect(NATSConfiguration(servers: []))
            XCTFail("connect accepted an empty server list")
        } catch {
            XCTAssertEqual(error.code, .invalidConfiguration)
        }
    }

    func testDefaultsDeriveStreamSubjectsAndDeadLetterStreamName() {
        let configuration = NATSConfiguration()
        XCTAssertEqual(configuration.effectiveStreamSubjects, ["eventbus.*", "eventbus.*.p.*"])
        XCTAssertEqual(configuration.effectiveDeadLetterStreamName, "EVENTBUS_DLQ")
        XCTAssertEqual(configuration.subjects.deadLetterStreamSubjects, ["eventbus.*.dlq"])
    }
}
