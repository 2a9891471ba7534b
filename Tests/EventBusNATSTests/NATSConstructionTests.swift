import EventBus
import EventBusConformance
import EventBusNATS
import XCTest

/// The shared construction shape (`ConnectableEventBus.connect`), with the body every backend runs.
final class NATSConstructionTests: XCTestCase {
    func testConnectBuildsAWorkingBusAndRefusesAnInvalidConfiguration() async throws {
        let url = try NATSTestEnvironment.requireBroker()
        let valid = NATSTestEnvironment.configuration(url: url)
        var invalid = valid
        invalid.partitionsPerTopic = 0
        do {
            try await ConstructionCheck.run(
                NATSEventBus.self, valid: valid, invalid: invalid, invalidField: "partitionsPerTopic")
        } catch let failure as ConformanceFailure {
            XCTFail(failure.description, file: failure.file, line: failure.line)
        }
    }
}
