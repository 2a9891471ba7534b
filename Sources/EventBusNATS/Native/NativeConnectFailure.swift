import CNats
import EventBus

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Turns a failed `natsConnection_Connect` into an error that names the cause.
///
/// nats.c reports authentication and TLS failures with their own statuses, but an unknown host, a
/// refused connection and a timeout all end as `No server available for connection`. For that one
/// status each server is examined once more here: its host resolved (`getaddrinfo`) and a TCP
/// connection tried (bounded by `probeTimeout`), so the error says which server failed how.
enum NativeConnectFailure {
    /// How long the TCP probe of one server may take.
    static let probeTimeout: Int32 = 1_000

    /// The error for a connect to `servers` that failed with `status` and nats.c's `text`.
    static func error(status: natsStatus, text: String, servers: [String]) -> EventBusError {
        let what = "cannot connect to \(servers.joined(separator: ","))"
        switch status {
        case NATS_CONNECTION_AUTH_FAILED, NATS_NOT_PERMITTED:
            return EventBusError(
                .authenticationFailed, "\(what): the server refused the credentials (\(text))", isRetriable: false)
        case NATS_SSL_ERROR:
            return EventBusError(.connectionFailed, "\(what): TLS handshake failed (\(text))", isRetriable: false)
        case NATS_SECURE_CONNECTION_REQUIRED:
            return EventBusError(
                .connectionFailed, "\(what): TLS is required by the server but not used by the client (\(text))",
                isRetriable: false)
        case NATS_SECURE_CONNECTION_WANTED:
            return EventBusError(
                .connectionFailed, "\(what): TLS is wanted by the client but not offered by the server (\(text))",
                isRetriable: false)
        case NATS_NO_SERVER:
            let causes = servers.map { "\($0): \(probe($0))" }
            return EventBusError(
                .connectionFailed, "\(what): \(text); " + causes.joined(separator: "; "), isRetriable: true)
        default:
            if text.contains("Authorization Violation") || text.contains("Authentication") {
                return EventBusError(
                    .authenticationFailed, "\(what): the server refused the credentials (\(text))", isRetriable: false)
            }
            return NativeError.make(.connectionFailed, what, status: status, text: text)
        }
    }

    /// What happens when one connects to `server` (`[scheme://][user[:password]@]host[:port]`,
    /// port 4222 by default): `unknown host 'h' (…)`, `connection refused`, `no answer within 1 s`, or
    /// `TCP connection accepted` (the failure came later, in the NATS handshake). Blocks up to
    /// ``probeTimeout`` plus the resolver's own timeout.
    static func probe(_ server: String) -> String {
        var rest = Substring(server)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var host = String(rest)
        var port = "4222"
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { port = String(after.dropFirst()) }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            port = String(rest[rest.index(after: colon)...])
        }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, port, &hints, &list)
        guard resolved == 0, let list else {
            return "unknown host '\(host)' (\(String(cString: gai_strerror(resolved))))"
        }
        defer { freeaddrinfo(list) }
        var outcome = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            outcome = connectOnce(current.pointee)
            if outcome == "TCP connection accepted" { break }
            entry = current.pointee.ai_next
        }
        return outcome
    }

    private static func connectOnce(_ address: addrinfo) -> String {
        let fd = socket(address.ai_family, address.ai_socktype, address.ai_protocol)
        guard fd >= 0 else { return "no socket (\(String(cString: strerror(errno))))" }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
        if connect(fd, address.ai_addr, address.ai_addrlen) == 0 { return "TCP connection accepted" }
        guard errno == EINPROGRESS else { return "connection failed (\(String(cString: strerror(errno))))" }
        var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&descriptor, 1, probeTimeout) == 1 else {
            return "no answer within \(probeTimeout) ms"
        }
        var failure: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length)
        if failure == 0 { return "TCP connection accepted" }
        return "connection failed (\(String(cString: strerror(failure))))"
    }
}
