import EventBus
import EventBusConformance
import XCTest

/// The shared construction shape (`ConnectableEventBus.connect`), with the body every backend runs.
final class InMemoryConstructionTests: XCTestCase {
    func testConnectBuildsAWorkingBusAndRefusesAnInvalidConfiguration() async throws {
        do {
            try await ConstructionCheck.run(
                InMemoryEventBus.self, valid: InMemoryConfiguration(),
                invalid: InMemoryConfiguration(pool: ActorPoolConfiguration(actorCount: 0)), invalidField: "actorCount")
        } catch let failure as ConformanceFailure {
            XCTFail(failure.description, file: failure.file, line: failure.line)
        }
    }
}
