import CKafka
import EventBus

/// Why librdkafka could not use a broker connection, as its error callback reported it.
///
/// librdkafka retries connections in the background and a blocked call (metadata, admin, produce)
/// only ends with `Local: Broker transport failure` or a timeout; the reason (an unknown host, a
/// failed SASL or TLS handshake, an ApiVersion reply it cannot parse) arrives separately, through the
/// error callback. The callback keeps the latest one here, and the calls that failed put it into
/// their `EventBusError`.
struct RDKafkaConnectionCause: Sendable, Equatable {
    /// The kinds a caller can act on; `other` is any remaining transport failure (refused, reset).
    enum Kind: Sendable, Equatable {
        case unknownHost, authentication, tls, apiVersionHandshake, other
    }

    let kind: Kind
    /// librdkafka's text, such as `127.0.0.1:9092/bootstrap: Failed to resolve 'x:9092': ...`.
    let text: String
    /// When the error callback reported it.
    var reportedAt = ContinuousClock.now

    /// How long a reported cause explains later failures. librdkafka reports a failure again at
    /// each reconnect (backoff at most `reconnect.backoff.max.ms`, 10 s by default) but suppresses
    /// identical ones for a while, so a persisting cause is re-reported well within a minute; an
    /// older one no longer describes the connection.
    static let freshness: Duration = .seconds(60)

    /// Whether it was reported within ``freshness``.
    var isRecent: Bool { ContinuousClock.now - reportedAt < Self.freshness }

    /// The oldest librdkafka that talks to Tansu: 2.0.2 (Debian bookworm's) cannot parse Tansu's
    /// ApiVersions v3 answer (`Read underflow`), later releases can (`Docs/Kafka.md`, "librdkafka
    /// versions"; tested here: 2.16.0).
    static let minimumVersion = (major: 2, minor: 1)

    /// The cause behind a client-level error, or nil when the error says nothing about a connection
    /// (`all brokers down` only summarizes the causes reported before it).
    static func classify(code: Int32, text: String) -> RDKafkaConnectionCause? {
        let kind: Kind
        switch code {
        case RD_KAFKA_RESP_ERR__RESOLVE.rawValue:
            kind = .unknownHost
        case RD_KAFKA_RESP_ERR__AUTHENTICATION.rawValue, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED.rawValue,
            RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM.rawValue, RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE.rawValue:
            kind = .authentication
        case RD_KAFKA_RESP_ERR__SSL.rawValue:
            kind = .tls
        case RD_KAFKA_RESP_ERR__TRANSPORT.rawValue:
            // librdkafka reports these stages as transport failures; its text names the stage.
            if text.contains("ApiVersionRequest failed") {
                kind = .apiVersionHandshake
            } else if text.contains("SASL") {
                kind = .authentication
            } else if text.contains("SSL") {
                kind = .tls
            } else if text.contains("Failed to resolve") {
                kind = .unknownHost
            } else {
                kind = .other
            }
        default:
            return nil
        }
        return RDKafkaConnectionCause(kind: kind, text: text)
    }

    /// `error` (a failed broker call) with this cause named in its message, and the code a caller
    /// can act on: `unsupported` for the ApiVersion handshake, `authenticationFailed` for SASL, not
    /// retriable for those and TLS; `connectionFailed` (retriable) for an unknown host or another
    /// transport failure. `librdkafkaVersion` is the version loaded (`rd_kafka_version_str`).
    func explain(_ error: EventBusError, librdkafkaVersion: String) -> EventBusError {
        var explained = error
        switch kind {
        case .unknownHost:
            explained.code = .connectionFailed
            explained.isRetriable = true
            explained.message = "\(error.message): unknown host (\(text))"
        case .authentication:
            explained.code = .authenticationFailed
            explained.isRetriable = false
            explained.message = "\(error.message): SASL authentication failed (\(text))"
        case .tls:
            explained.code = .connectionFailed
            explained.isRetriable = false
            explained.message = "\(error.message): TLS handshake failed (\(text))"
        case .apiVersionHandshake:
            explained.code = .unsupported
            explained.isRetriable = false
            explained.message =
                "\(error.message): " + Self.apiVersionExplanation(text, librdkafkaVersion: librdkafkaVersion)
        case .other:
            explained.message = "\(error.message) (\(text))"
        }
        return explained
    }

    /// The explanation of a failed ApiVersion handshake for librdkafka `librdkafkaVersion`.
    static func apiVersionExplanation(_ text: String, librdkafkaVersion: String) -> String {
        let needed = "\(minimumVersion.major).\(minimumVersion.minor)"
        if isOlder(librdkafkaVersion, than: minimumVersion) {
            return "the ApiVersion handshake with the broker failed (\(text)): librdkafka \(librdkafkaVersion) is "
                + "loaded, and brokers that answer ApiVersions v3 as Tansu does need librdkafka \(needed) or newer "
                + "(\(librdkafkaVersion) cannot parse that answer; Apache Kafka works with both); put a newer "
                + "librdkafka.so.1 first on the loader path (scripts/env.sh puts .runtime/lib, librdkafka 2.16, first)"
        }
        return "the ApiVersion handshake with the broker failed (\(text)) with librdkafka \(librdkafkaVersion) "
            + "(\(needed) or newer is needed for Tansu, so this one should do): the broker may be older than "
            + "Kafka 0.10 or not speak the Kafka protocol on this port"
    }

    /// Whether `major.minor[.patch…]` is below `minimum`; false when it cannot be read.
    static func isOlder(_ version: String, than minimum: (major: Int, minor: Int)) -> Bool {
        let parts = version.split(separator: ".").map { Int($0.prefix { $0.isNumber }) }
        guard parts.count >= 2, let major = parts[0], let minor = parts[1] else { return false }
        return major < minimum.major || (major == minimum.major && minor < minimum.minor)
    }
}
