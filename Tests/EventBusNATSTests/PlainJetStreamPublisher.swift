import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A foreign JetStream publisher: speaks the core protocol over a socket, as a service in another
/// language would, and publishes each message with a reply inbox, as a JetStream client's publish
/// does, returning what came back: the stream's PubAck (`{"stream":…,"seq":…}`) or the server's
/// `503` no-responders status when no stream captures the subject.
enum PlainJetStreamPublisher {
    /// The answer to one publish.
    enum Reply: Equatable {
        /// A stream stored it; the PubAck's JSON text.
        case pubAck(String)
        /// Nothing listens on the subject (no stream captures it).
        case noResponders
        /// Anything else, verbatim.
        case other(String)
    }

    /// Publishes each of `payloads` on `subject` over one connection and returns the replies in order;
    /// waits at most `timeout` for all of them.
    static func publish(
        url: String, subject: String, payloads: [[UInt8]], timeout: Duration = .seconds(10)
    ) throws -> [Reply] {
        let fd = try PlainNATSPublisher.connectSocket(url: url)
        defer { close(fd) }
        var seconds = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &seconds, socklen_t(MemoryLayout<timeval>.size))
        let inbox = "_INBOX.foreign\(UInt32.random(in: 0...UInt32.max))"
        var frame = Array(
            "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true}\r\nSUB \(inbox).* 1\r\n"
                .utf8)
        for (index, payload) in payloads.enumerated() {
            frame += Array("PUB \(subject) \(inbox).\(index) \(payload.count)\r\n".utf8) + payload + Array("\r\n".utf8)
        }
        try PlainNATSPublisher.sendAll(frame, on: fd)
        var replies = [Reply?](repeating: nil, count: payloads.count)
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let deadline = ContinuousClock.now + timeout
        while replies.contains(where: { $0 == nil }) {
            guard ContinuousClock.now < deadline else { throw CocoaError(.fileReadUnknown) }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 { buffer += chunk[0..<count] } else if count == 0 { throw CocoaError(.fileReadCorruptFile) }
            parse(&buffer, inbox: inbox, into: &replies)
        }
        return replies.map { $0! }
    }

    /// Takes every complete `MSG`/`HMSG` frame for `inbox` off the front of `buffer`.
    private static func parse(_ buffer: inout [UInt8], inbox: String, into replies: inout [Reply?]) {
        while let lineEnd = find(buffer, "\r\n") {
            let line = String(decoding: buffer[0..<lineEnd], as: UTF8.self)
            let parts = line.split(separator: " ")
            guard let verb = parts.first, verb == "MSG" || verb == "HMSG" else {
                buffer.removeFirst(lineEnd + 2)  // PING, +OK, INFO: not ours
                continue
            }
            // MSG <subject> <sid> <bytes> | HMSG <subject> <sid> <header bytes> <total bytes>
            guard let total = Int(parts[parts.count - 1]), buffer.count >= lineEnd + 2 + total + 2 else { return }
            let headerBytes = verb == "HMSG" ? Int(parts[parts.count - 2]) ?? 0 : 0
            let body = Array(buffer[(lineEnd + 2)..<(lineEnd + 2 + total)])
            buffer.removeFirst(lineEnd + 2 + total + 2)
            guard let index = Int(parts[1].split(separator: ".").last ?? ""), index < replies.count else { continue }
            let header = String(decoding: body[0..<headerBytes], as: UTF8.self)
            let payload = String(decoding: body[headerBytes...], as: UTF8.self)
            if header.hasPrefix("NATS/1.0 503") {
                replies[index] = .noResponders
            } else if payload.contains("\"seq\"") {
                replies[index] = .pubAck(payload)
            } else {
                replies[index] = .other(header + payload)
            }
        }
    }

    private static func find(_ bytes: [UInt8], _ text: String) -> Int? {
        let needle = Array(text.utf8)
        guard bytes.count >= needle.count else { return nil }
        for start in 0...(bytes.count - needle.count) where Array(bytes[start..<(start + needle.count)]) == needle {
            return start
        }
        return nil
    }
}
