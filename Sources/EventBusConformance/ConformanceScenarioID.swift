/// Names every conformance scenario, so test methods refer to them without typos.
public enum ConformanceScenarioID: String, Sendable, CaseIterable {
    /// 500 messages without faults: each handled exactly once.
    case deliversEveryMessageOnce
    /// 1,000 aggregates × 10 versions from concurrent publishers: versions handled 1...10 in order.
    case keepsOrderPerAggregate
    /// 200 aggregates × 10 versions published with `publishPipelined` by concurrent publishers that
    /// do not await their receipts: versions handled 1...10 in order; a pipelined call with an
    /// illegal topic is refused whole.
    case keepsOrderWhenPipelined
    /// Handlers of different aggregates run at the same time.
    case handlesAggregatesConcurrently
    /// A handler that fails twice then succeeds: handled once after 2 restarts, order kept.
    case retriesFailingHandler
    /// A handler that always fails: dead-lettered after every restart, later messages flow.
    case deadLettersPoisonMessage
    /// Two members of one group share the messages.
    case sharesMessagesInGroup
    /// Every group receives every message.
    case fansOutAcrossGroups
    /// A member closes holding unhandled messages: the rest of the group handles them.
    case redeliversOnClose
    /// Thousands of dead letters nobody reads neither stall consumption nor block shutdown.
    case deadLettersWithoutReader
    /// Bytes that are not an envelope are dead-lettered with the decode error.
    case deadLettersMalformedEnvelope
    /// A dead-lettered envelope replayed with `replayDeadLetter` after the handler was fixed is
    /// handled once, with its event ID, `X-Replay-Of` and no dead-letter headers.
    case replaysDeadLetter
    /// Typed events (`DomainEvent`) of two event types round-trip through
    /// `publish(_:aggregateID:to:)` and `DomainEventHandlers`: decoded equal, routed by
    /// event type, in order per aggregate, as jxt-core envelopes on the wire.
    case roundTripsTypedEvents
    /// An event type without a handler: skipped and counted under `.skip`, dead-lettered after one
    /// attempt under `.deadLetter`; the aggregate's next event is handled either way.
    case handlesUnknownEventTypes
    /// A payload that does not decode into its registered type and a schema version newer than the
    /// registered one are dead-lettered after one attempt; the aggregate's next event is handled.
    case deadLettersUndecodableTypedEvents
    /// v1 and v2 payloads published raw reach a v3 handler through the upcaster chain, in order.
    case upcastsTypedEvents
    /// A slow handler slows the publisher instead of growing memory.
    case boundsInFlightMessages
    /// A topic's subscribers see only that topic.
    case isolatesTopics
    /// Shutdown gives back threads and descriptors.
    case releasesResources
    /// A message published right after subscribe returned is received.
    case subscribeReturnsWhenReady
    /// Shutdown and close may be called more than once.
    case shutdownIsIdempotent
    /// A handler may close its own subscription without deadlocking.
    case closesFromInsideHandler
    /// Publishing to a shut-down bus throws `shutDown`.
    case rejectsPublishAfterShutdown
    /// An empty topic or group name is refused with `invalidArgument`, not a crash or a silent no-op.
    case rejectsInvalidArguments
    /// Keys, header names and values and payloads at their edges (empty, blank, surrounding spaces,
    /// non-ASCII, repeated names, the largest size) arrive exactly as sent or are refused at publish.
    case roundTripsEdgeValues
    /// Topic and group names outside `EventBus.EventBusNames` (the names Kafka or NATS refuse) are refused
    /// with `invalidArgument` naming the field, at publish and subscribe.
    case rejectsIllegalNames
    /// Names at the edge of the rules work: 249-character topic, 239 characters of topic and group
    /// with `-` and `_`, a dead-letter topic.
    case acceptsEdgeNames
    /// Messages published around a broker restart are all delivered.
    case survivesBrokerRestart
    /// A member joins a group working through a backlog: no key handled out of order or twice at once.
    case keepsOrderWhenMemberJoins
    /// A member closes mid-stream: its keys' new owner resumes at their oldest unacknowledged message.
    case keepsOrderWhenMemberCloses
    /// A member shuts down with thousands of messages unhandled; a successor resumes them in order.
    case keepsOrderWhenMemberShutsDown
    /// A member leaves during a failing message's retries; the next owner handles it first.
    case keepsOrderWhenFailingMemberLeaves
    /// Three members churn (one joins or leaves every second): order and exclusivity hold throughout.
    case keepsOrderWhileMembersChurn
    /// Publish, handle, retry and dead letter show in the metrics with the documented names and
    /// dimensions (`EventBus.BusMetrics`), and a publish after shutdown counts a `shutDown` error.
    case reportsMetrics
    /// 5,000 messages behind a gated handler: `consumerLag` reads 5,000, the lag gauges agree and
    /// health is `degraded` naming the subscription; after the handler is released, lag reads 0
    /// and health is `healthy` again.
    case reportsConsumerLag
}
