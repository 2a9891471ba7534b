import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Another NATS client: speaks the core protocol over a socket, as a service in another language
/// would, and publishes without headers or with a header block written exactly as given.
enum PlainNATSPublisher {
    /// Publishes `payload` on `subject` (with `headerBlock` as the raw NATS header section when
    /// given) and waits for the server's PONG, so it has been processed.
    static func publish(url: String, subject: String, headerBlock: String? = nil, payload: [UInt8]) throws {
        try publish(url: url, subject: subject, headerBlock: headerBlock, payloads: [payload])
    }

    /// Publishes each of `payloads` on `subject` in order over one connection, then waits for the
    /// server's PONG.
    static func publish(url: String, subject: String, headerBlock: String? = nil, payloads: [[UInt8]]) throws {
        let fd = try connectSocket(url: url)
        defer { close(fd) }
        var frame = Array("CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\n".utf8)
        for payload in payloads {
            if let headerBlock {
                let header = Array(headerBlock.utf8)
                frame += Array("HPUB \(subject) \(header.count) \(header.count + payload.count)\r\n".utf8)
                frame += header
            } else {
                frame += Array("PUB \(subject) \(payload.count)\r\n".utf8)
            }
            frame += payload
            frame += Array("\r\n".utf8)
        }
        frame += Array("PING\r\n".utf8)
        try sendAll(frame, on: fd)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: received, as: UTF8.self).contains("PONG") {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw CocoaError(.fileReadCorruptFile) }
            received += buffer[0..<count]
        }
    }

    /// A TCP socket connected to the server of `url` on 127.0.0.1 (its port, default 4222); the
    /// caller closes it.
    static func connectSocket(url: String) throws -> Int32 {
        let port = UInt16(url.split(separator: ":").last.map(String.init) ?? "4222") ?? 4222
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(port.bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw CocoaError(.fileReadUnknown)
        }
        return fd
    }

    /// Writes all of `frame` to `fd`.
    static func sendAll(_ frame: [UInt8], on fd: Int32) throws {
        var sent = 0
        while sent < frame.count {
            let count = frame[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw CocoaError(.fileWriteUnknown) }
            sent += count
        }
    }
}
