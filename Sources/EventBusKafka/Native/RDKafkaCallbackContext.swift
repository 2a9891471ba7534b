import EventBus
import Logging
import Synchronization

/// What librdkafka's callbacks find through the client's opaque pointer.
///
/// Retained once when the client is created and released after `rd_kafka_destroy`, so no callback
/// can outlive it.
final class RDKafkaCallbackContext: Sendable {
    /// Where librdkafka's log lines go.
    let logger: Logger
    /// Called on the poll thread inside a rebalance; cleared when the subscription closes.
    let rebalanceHandler = Mutex<(@Sendable (RDKafkaRebalance) -> Void)?>(nil)

    /// Since when no broker has been reachable, by librdkafka's `all brokers down` error or a
    /// failed health probe, and the last reason given; cleared by a probe that got an answer.
    let unreachable = Mutex<(since: ContinuousClock.Instant?, reason: String?)>((nil, nil))

    /// The latest connection failure the error callback reported with a cause (unknown host, SASL,
    /// TLS, ApiVersion handshake, other transport failure); cleared when a metadata request is
    /// answered. Failed broker calls name it in their error.
    let connectionCause = Mutex<RDKafkaConnectionCause?>(nil)

    /// ``connectionCause`` if it was reported recently enough to explain a failure now.
    var recentConnectionCause: RDKafkaConnectionCause? {
        connectionCause.withLock { $0 }.flatMap { $0.isRecent ? $0 : nil }
    }

    /// Where a partition without a committed offset starts: true for the oldest message.
    let startFromEarliest: Bool
    /// How long the rebalance may spend resolving start offsets, in milliseconds.
    let offsetQueryTimeoutMilliseconds: Int32

    init(logger: Logger, startFromEarliest: Bool = true, offsetQueryTimeoutMilliseconds: Int32 = 5000) {
        self.logger = logger
        self.startFromEarliest = startFromEarliest
        self.offsetQueryTimeoutMilliseconds = offsetQueryTimeoutMilliseconds
    }
}

/// A group rebalance, as the consumer's owner sees it.
enum RDKafkaRebalance: Sendable {
    /// These partitions were assigned; messages from them follow.
    case assigned([Int32])
    /// These partitions are being taken away; after the handler returns they are released.
    case revoked([Int32])
}
