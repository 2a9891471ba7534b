/// Publishes and consumes messages and domain events; every backend conforms to it.
///
/// User code depends on this protocol only, so a service can move from the in-memory bus to Kafka or
/// NATS JetStream by changing the one line that builds the bus.
///
/// Delivery is at least once: a message is acknowledged to its backend only after its handler
/// returned, or after it was durably written to the dead-letter topic.
public protocol EventBus: Sendable {
    /// Publishes one message and returns once the backend has accepted it durably.
    func publish(_ message: OutgoingMessage) async throws(EventBusError)

    /// Publishes messages and returns once all of them were accepted.
    ///
    /// Messages with the same key keep the order they have in `messages`. If any publish fails the
    /// call throws, after every message of the call was settled; the others, before and after the
    /// failed one, may have been published.
    func publish(_ messages: [OutgoingMessage]) async throws(EventBusError)

    /// Hands `messages` to the backend and returns once they are queued in order, without waiting
    /// for the broker's acknowledgements; await the returned ``PublishReceipt`` for those.
    ///
    /// Successive calls from one task (each returned before the next starts) are sent in call
    /// order, so messages of one key are stored in the order of the calls and, within a call, of
    /// `messages`: the order and failure rules of one ``publish(_:)-([OutgoingMessage])`` call
    /// spanning all of them. What a broker can refuse about a single message (its topic's name,
    /// its size, its headers) is checked before anything of the call is queued, so such a call
    /// throws `invalidArgument` and queues nothing. A receipt fails only for what happens after
    /// the messages left (a lost connection, a broker that does not answer in time); then later
    /// calls' messages may already be stored, so republishing the failed call puts its messages
    /// after them. Where a key's order must survive such failures, await each call's receipt
    /// before publishing that key's next message, as ``publish(_:)-([OutgoingMessage])`` does.
    ///
    /// Waits (cancellably) while the backend already holds its limit of unacknowledged pipelined
    /// messages (NATS: `publish.maxPending`; Kafka: librdkafka's queue). Cancelled while waiting,
    /// a NATS call throws `cancelled` having queued nothing; a Kafka call does so while none of it
    /// is in librdkafka's queue, and once part of it is, waits on for the rest (librdkafka frees
    /// room within `message.timeout.ms`), so it is never left queued in part. The in-memory bus
    /// stores a call as its topic's partitions have room: cancelled while waiting for room, it
    /// throws `cancelled` saying how many of the call's messages it stored, and those stay.
    /// Throws `shutDown` after ``shutdown()``.
    ///
    /// A default implementation publishes and waits, returning a settled receipt: correct for
    /// every backend, and what the in-memory bus does, since its publish waits for nothing remote.
    func publishPipelined(_ messages: [OutgoingMessage]) async throws(EventBusError) -> PublishReceipt

    /// Starts delivering messages of `topic` to `handler` as a member of consumer group `group`.
    ///
    /// Returns once messages will be received. Within a group each message goes to one member;
    /// every group receives every message.
    ///
    /// Ordering contract (`Docs/Ordering.md`): within the group, at any moment at most one member
    /// handles a given key, one message at a time; first deliveries of a key follow publish order;
    /// after a member joins, closes, shuts down or crashes, the key's new owner resumes at the key's
    /// oldest unacknowledged message and goes forward in order. A message is handled again only if
    /// its outcome was not yet acknowledged when its member went away.
    func subscribe(
        topic: String,
        group: String,
        handler: @escaping MessageHandler
    ) async throws(EventBusError) -> any Subscription

    /// Publishes domain events to `topic`, keyed by aggregate ID; events of one aggregate keep their
    /// order in `envelopes`. Each envelope is validated first.
    ///
    /// A default implementation encodes each envelope as jxt-core JSON with the `X-Event-*` headers
    /// and publishes the raw messages; a backend may carry envelopes more cheaply.
    func publish(_ envelopes: [Envelope], to topic: String) async throws(EventBusError)

    /// Publishes domain events to `topic` as ``publish(_:to:)-([Envelope],_)`` does, pipelined as
    /// ``publishPipelined(_:)-([OutgoingMessage])`` is: returns once they are queued, with a
    /// receipt for their acknowledgements. Each envelope is validated before anything is queued.
    ///
    /// A default implementation publishes and waits, returning a settled receipt.
    func publishPipelined(_ envelopes: [Envelope], to topic: String) async throws(EventBusError) -> PublishReceipt

    /// The customization point behind ``subscribe(topic:group:envelopeHandler:)``; call that instead.
    ///
    /// A default implementation decodes each raw message's bytes; a backend that carries envelopes
    /// unserialized hands them over directly. It has its own name so that a trailing closure given
    /// to `subscribe(topic:group:)` is never ambiguous between raw and envelope handlers.
    func makeEnvelopeSubscription(
        topic: String,
        group: String,
        handler: @escaping EnvelopeHandler
    ) async throws(EventBusError) -> any Subscription

    /// Creates `topics` on the broker ahead of time, with the bus's configured layout, so that other
    /// services can publish to them before any subscriber or publisher of this library ran.
    ///
    /// Idempotent: a topic that exists with the asked layout is left as it is (no message is touched),
    /// so a second call succeeds and changes nothing. An existing topic whose layout differs (for
    /// example fewer partitions than configured) throws ``EventBusError/Code/topicMismatch`` naming
    /// what differs; provisioning never changes an existing topic. Each topic's dead-letter topic is
    /// provisioned with it. Names follow ``EventBusNames`` (`invalidArgument` otherwise, before any
    /// broker call). What is created per backend, with its exact settings: `Docs/Operations.md`,
    /// "Provisioning".
    ///
    /// A default implementation throws ``EventBusError/Code/unsupported``: a backend that has nothing
    /// to create says so instead of pretending.
    func provision(topics: [String]) async throws(EventBusError)

    /// Reads how far consumer group `group` is behind on `topic`: per partition and in total, in
    /// messages not yet acknowledged by the group (``ConsumerLag`` says what each backend counts).
    ///
    /// The group needs no subscription in this process; a group that never consumed counts from
    /// where it would start. Asks the broker (Kafka: an offset fetch and a watermark query per
    /// partition; NATS: a consumer-info request per lane), so call it for monitoring, not per
    /// message.
    ///
    /// Throws `invalidArgument` for names outside ``EventBusNames``, `topicMismatch` for a topic
    /// the backend does not know, `shutDown` after `shutdown()`, and the backend's connection or
    /// timeout errors when the broker does not answer in time.
    func consumerLag(topic: String, group: String) async throws(EventBusError) -> ConsumerLag

    /// Reports the bus's condition.
    ///
    /// With ``ActorPoolConfiguration/maxConsumerLag`` set, it also reads the lag of every
    /// subscribed (topic, group) and reports `degraded` when one exceeds the bound
    /// (`Docs/Observability.md`, "Health").
    func health() async -> BusHealth

    /// Stops accepting publishes, lets handled work drain, closes every subscription and releases
    /// the backend's resources. Calling it twice is harmless.
    func shutdown() async
}
