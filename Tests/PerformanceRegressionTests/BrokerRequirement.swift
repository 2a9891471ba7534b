import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// Decides whether a broker-backed test runs: skips it with a clear message when the broker's port
/// does not answer, or fails it instead when `EVENTBUS_REQUIRE_BROKERS=1` (as `scripts/test.sh` sets).
enum BrokerRequirement {
    static func require(_ name: String, address: String, file: StaticString = #filePath, line: UInt = #line) throws {
        if isReachable(address) { return }
        let text = "\(name) at \(address) is unreachable; start it with scripts/brokers.sh start"
        if ProcessInfo.processInfo.environment["EVENTBUS_REQUIRE_BROKERS"] == "1" {
            XCTFail(text + " (EVENTBUS_REQUIRE_BROKERS=1)", file: file, line: line)
        }
        throw XCTSkip(text)
    }

    static var kafkaAddress: String {
        let brokers = ProcessInfo.processInfo.environment["EVENTBUS_KAFKA_BROKERS"] ?? "127.0.0.1:9092"
        return brokers.split(separator: ",").first.map(String.init) ?? brokers
    }

    static var natsAddress: String {
        let url = ProcessInfo.processInfo.environment["EVENTBUS_NATS_URL"] ?? "nats://127.0.0.1:4222"
        return url.replacingOccurrences(of: "nats://", with: "")
    }

    /// Opens and closes a TCP connection to `host:port` (IPv4), sending nothing.
    static func isReachable(_ address: String) -> Bool {
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { return false }
        let host = parts[0] == "localhost" ? "127.0.0.1" : String(parts[0])
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &socketAddress.sin_addr) == 1 else { return false }
        return withUnsafePointer(to: &socketAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
