// EventBusMemberProcess: one member of a consumer group in a process of its own, so a test can kill
// it with SIGKILL mid-stream (see MemberProcess in EventBusConformance, which runs it).
//
// Usage: EventBusMemberProcess --backend kafka|nats --servers URL --topic T --group G --work-ms N
//                              [--member ID] [--exit-on-stdin-eof]
//
// Standard output, one write(2) per line (atomic on a pipe below PIPE_BUF, never held in a buffer, so a
// kill loses no finished record and lines from concurrent handlers never interleave):
//   READY                                          once subscribe returned
//   H <member> <key> <version> <startNs> <endNs>   after each handler call, CLOCK_MONOTONIC nanoseconds
//                                                  (HandlingLedger.now()) at its start and end
// Payloads are `key/version` (VersionedPayload); each call sleeps --work-ms between start and end. The
// record is written before the handler returns, so a message without a record was never acknowledged.
// Logs go to standard error. After READY, SIGTERM or SIGINT shuts the bus down (committing what was
// handled) and exits 0. With --exit-on-stdin-eof the process exits at once when its standard input
// ends, which is how it follows a parent that died without killing it.
//
// The bus is configured the way the test suites configure theirs: Kafka as KafkaTestBroker does (3 s
// session timeout, 300 ms heartbeats), NATS as NATSTestEnvironment does (stream EBNATS_TESTS, subjects
// ebnats.*, 5 s ack wait); keep them in step.
import EventBus
import EventBusConformance
import EventBusKafka
import EventBusNATS
import Foundation
import Logging
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct MemberOptions {
    var backend = ""
    var servers = ""
    var topic = ""
    var group = ""
    var work = Duration.zero
    var member = 0
    var exitOnStdinEOF = false

    static let usage =
        "usage: EventBusMemberProcess --backend kafka|nats --servers URL --topic T --group G --work-ms N"
        + " [--member ID] [--exit-on-stdin-eof]"

    /// Parses the arguments, or exits with status 64 (EX_USAGE) and the usage on standard error.
    static func parse(_ arguments: ArraySlice<String>) -> MemberOptions {
        var options = MemberOptions()
        var rest = arguments
        while let flag = rest.popFirst() {
            if flag == "--exit-on-stdin-eof" {
                options.exitOnStdinEOF = true
                continue
            }
            guard let value = rest.popFirst() else { fail("\(flag) needs a value") }
            switch flag {
            case "--backend": options.backend = value
            case "--servers": options.servers = value
            case "--topic": options.topic = value
            case "--group": options.group = value
            case "--work-ms":
                guard let milliseconds = Int(value), milliseconds >= 0 else { fail("bad --work-ms \(value)") }
                options.work = .milliseconds(milliseconds)
            case "--member":
                guard let member = Int(value) else { fail("bad --member \(value)") }
                options.member = member
            default: fail("unknown argument \(flag)")
            }
        }
        guard ["kafka", "nats"].contains(options.backend), !options.servers.isEmpty, !options.topic.isEmpty,
            !options.group.isEmpty
        else { fail("--backend, --servers, --topic and --group are required") }
        return options
    }

    static func fail(_ message: String) -> Never {
        writeLine("EventBusMemberProcess: \(message)\n\(usage)", to: 2)
        exit(64)
    }
}

/// Writes `text` and a newline to `descriptor` in one `write(2)` (retrying only a partial write);
/// exits when the descriptor is gone, since then nobody reads the records any more.
func writeLine(_ text: String, to descriptor: Int32 = 1) {
    var bytes = Array(text.utf8)
    bytes.append(UInt8(ascii: "\n"))
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                _exit(74)  // EX_IOERR
            }
            offset += written
        }
    }
}

func makeBus(_ options: MemberOptions, logger: Logger) async throws -> any EventBus & Service {
    switch options.backend {
    case "kafka":
        let configuration = KafkaConfiguration(
            bootstrapServers: options.servers.split(separator: ",").map(String.init),
            consumer: KafkaConsumerOptions(
                sessionTimeout: .seconds(3), heartbeatInterval: .milliseconds(300),
                commitInterval: .milliseconds(100), revocationTimeout: .seconds(5),
                assignmentTimeout: .seconds(30)),
            logger: logger)
        return try KafkaEventBus(configuration: configuration)
    default:
        var configuration = NATSConfiguration(servers: options.servers.split(separator: ",").map(String.init))
        configuration.stream.name = "EBNATS_TESTS"
        configuration.subjectPrefix = "ebnats"
        configuration.consumer.ackWait = .seconds(5)
        configuration.consumer.fetchWait = .milliseconds(200)
        configuration.pool.restartBackoff = .milliseconds(1)
        configuration.logger = logger
        return try await NATSEventBus.connect(configuration)
    }
}

let options = MemberOptions.parse(CommandLine.arguments.dropFirst())
if options.exitOnStdinEOF {
    // A blocking read, on a thread of its own: nothing is ever written to the pipe, so the read
    // returns only when the parent closed it or died.
    Thread.detachNewThread {
        var byte: UInt8 = 0
        while true {
            let count = read(0, &byte, 1)
            if count > 0 || (count < 0 && errno == EINTR) { continue }
            _exit(0)
        }
    }
}
var logger = Logger(label: "eventbus.member-process") { StreamLogHandler.standardError(label: $0) }
logger.logLevel = ProcessInfo.processInfo.environment["EVENTBUS_TEST_LOG"] == "1" ? .debug : .warning
logger[metadataKey: "eventbus.member"] = "\(options.member)"

do {
    let bus = try await makeBus(options, logger: logger)
    let member = options.member
    let work = options.work
    _ = try await bus.subscribe(topic: options.topic, group: options.group) { message in
        let (key, version) = VersionedPayload.parse(message)
        let start = HandlingLedger.now()
        try await Task.sleep(for: work)
        let end = HandlingLedger.now()
        writeLine("H \(member) \(key) \(version) \(start) \(end)")
    }
    writeLine("READY")
    // The bus's run() waits for graceful shutdown, then shuts the bus (and so the subscription) down.
    let services = ServiceGroup(
        services: [bus], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
    try await services.run()
    exit(0)
} catch {
    writeLine("EventBusMemberProcess: \(error)", to: 2)
    exit(1)
}
