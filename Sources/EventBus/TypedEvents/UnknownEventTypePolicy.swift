/// What a typed subscription does with an envelope whose `event_type` has no registered handler.
///
/// A topic often carries more event types than one service handles, and producers may start
/// publishing a new type before every consumer knows it; which answer is right depends on whether
/// the topic is meant to be shared. See `Docs/TypedEvents.md`.
public enum UnknownEventTypePolicy: Sendable, Equatable {
    /// Acknowledge the event without handling it: counted in
    /// `eventbus_typed_events_skipped_total` (dimensions `backend`, `topic`, `group`) and in
    /// ``DomainEventSubscription/Statistics/skippedUnknownTypes``, and logged at debug level with its
    /// event type and ID. The default: the right choice for topics shared by several services.
    case skip
    /// Dead-letter the event at once (one attempt, no restarts) with an ``EventBusError`` of code
    /// ``EventBusError/Code/unknownEventType``: the right choice when every type on the topic must be
    /// handled, so a missing registration shows up in the dead-letter topic instead of going unnoticed.
    case deadLetter
}
