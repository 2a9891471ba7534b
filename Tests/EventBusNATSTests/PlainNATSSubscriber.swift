import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A plain NATS subscriber over a socket of its own, for tests that watch what a member sends (its
/// pull requests) without taking part.
final class PlainNATSSubscriber {
    private let fd: Int32
    private var received: [UInt8] = []

    /// Subscribes to `subject` and returns once the server has the subscription (its PONG came).
    init(url: String, subject: String) throws {
        fd = try PlainNATSPublisher.connectSocket(url: url)
        // Every wait on this socket is bounded.
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let frame = "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\nSUB \(subject) 1\r\nPING\r\n"
        try PlainNATSPublisher.sendAll(Array(frame.utf8), on: fd)
        while !String(decoding: received, as: UTF8.self).contains("PONG") {
            try receive()
        }
        received.removeAll()
    }

    deinit { close(fd) }

    /// The reply subject of the next message on the subject (`MSG <subject> <sid> <reply> <size>`),
    /// waiting at most 5 s; nil when none came.
    func nextReplySubject() -> String? {
        while true {
            let text = String(decoding: received, as: UTF8.self)
            for line in text.split(separator: "\r\n") where line.hasPrefix("MSG ") {
                let fields = line.split(separator: " ")
                if fields.count == 5 { return String(fields[3]) }
            }
            do { try receive() } catch { return nil }
        }
    }

    private func receive() throws {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw CocoaError(.fileReadUnknown) }
        received += buffer[0..<count]
    }
}
