import CKafka
import CNats
import XCTest

/// Proves the system-library module maps resolve, compile and link against the installed C clients.
final class NativeLibrarySmokeTests: XCTestCase {
    func testKafkaLibraryReportsVersionWhenLinked() {
        let version = String(cString: rd_kafka_version_str())
        XCTAssertTrue(version.first?.isNumber == true, "unexpected librdkafka version \(version)")
    }

    func testNatsLibraryReportsVersionWhenLinked() {
        let version = String(cString: nats_GetVersion())
        XCTAssertTrue(version.first?.isNumber == true, "unexpected nats.c version \(version)")
    }
}
