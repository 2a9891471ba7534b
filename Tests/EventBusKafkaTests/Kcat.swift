import Foundation
import XCTest

/// Runs the `kcat` command-line client against the test broker (it needs the same
/// `LD_LIBRARY_PATH` as the tests to load a librdkafka that can talk to Tansu).
enum Kcat {
    static func path() throws -> String {
        for candidate in ["/usr/bin/kcat", "/usr/local/bin/kcat", "/usr/bin/kafkacat"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw XCTSkip("kcat is not installed (apt-get install kcat)")
    }

    /// Runs kcat with `arguments`, feeding `input`; returns standard output.
    @discardableResult
    static func run(_ arguments: [String], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path())
        process.arguments = ["-b", KafkaTestBroker.address] + arguments
        let output = Pipe()
        let inputPipe = Pipe()
        process.standardOutput = output
        process.standardInput = inputPipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        if let input { inputPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try inputPipe.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NSError(
                domain: "kcat", code: Int(process.terminationStatus),
                userInfo: [NSLocalizedDescriptionKey: "kcat \(arguments) failed"])
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Kafka's murmur2 partitioner as the Java client computes it.
    static func javaPartition(forKey key: String, partitions: Int32) -> Int32 {
        let data = Array(key.utf8)
        let seed: UInt32 = 0x9747_b28c
        let m: UInt32 = 0x5bd1_e995
        var h = seed ^ UInt32(data.count)
        let whole = data.count / 4
        for block in 0..<whole {
            let i = block * 4
            var k =
                UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16
                | UInt32(data[i + 3]) << 24
            k &*= m
            k ^= k >> 24
            k &*= m
            h &*= m
            h ^= k
        }
        let tail = whole * 4
        switch data.count % 4 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h &*= m
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h &*= m
        case 1:
            h ^= UInt32(data[tail])
            h &*= m
        default: break
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return Int32(bitPattern: h & 0x7fff_ffff) % partitions
    }
}
