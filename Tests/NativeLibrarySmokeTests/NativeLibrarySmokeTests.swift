import CKafka
import CNats
import Foundation
import XCTest

/// Proves the system-library module maps resolve, compile and link against the installed C clients.
final class NativeLibrarySmokeTests: XCTestCase {
    /// librdkafka 2.16.0 as `rd_kafka_version()` encodes it (0xMMmmrrxx); 2.0.2 cannot talk to Tansu.
    private static let firstKafkaVersionThatTalksToTansu: Int32 = 0x0210_0000

    func testKafkaLibraryReportsVersionWhenLinked() {
        let version = String(cString: rd_kafka_version_str())
        print("librdkafka at run time: \(version)")
        XCTAssertTrue(version.first?.isNumber == true, "unexpected librdkafka version \(version)")
    }

    func testKafkaRuntimeIsNewEnoughForTansuWhenBrokersAreRequired() throws {
        guard ProcessInfo.processInfo.environment["EVENTBUS_REQUIRE_BROKERS"] == "1" else {
            throw XCTSkip("only checked when the tests run against the brokers (scripts/test.sh)")
        }
        XCTAssertGreaterThanOrEqual(
            rd_kafka_version(),
            Self.firstKafkaVersionThatTalksToTansu,
            "librdkafka \(String(cString: rd_kafka_version_str())) is loaded; Tansu needs 2.16 or later: "
                + "run through scripts/test.sh or source scripts/env.sh (LD_LIBRARY_PATH=.runtime/lib)"
        )
    }

    func testNatsLibraryReportsVersionWhenLinked() {
        let version = String(cString: nats_GetVersion())
        print("nats.c at run time: \(version)")
        XCTAssertTrue(version.first?.isNumber == true, "unexpected nats.c version \(version)")
    }
}
