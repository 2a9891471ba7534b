import Synchronization

/// A subscription of ``DomainEventHandlers``: a ``Subscription`` with counters of what the typed
/// layer did.
///
/// It wraps the envelope subscription the bus made (``EventBus/makeEnvelopeSubscription(topic:group:handler:)``),
/// so delivery, ordering, retries, dead letters and closing are exactly that subscription's.
public final class DomainEventSubscription: Subscription {
    /// What the typed layer did so far.
    public struct Statistics: Sendable, Equatable {
        /// Events whose typed handler returned.
        public var handled: Int
        /// Events acknowledged without handling because their event type had no handler, under
        /// ``UnknownEventTypePolicy/skip``.
        public var skippedUnknownTypes: Int
        /// Events whose payload the upcasters brought up to date (a chain that failed is not
        /// counted), once per attempt: an upcast event whose handler is retried counts each time.
        public var upcast: Int

        /// Creates a set of counters.
        public init(handled: Int = 0, skippedUnknownTypes: Int = 0, upcast: Int = 0) {
            self.handled = handled
            self.skippedUnknownTypes = skippedUnknownTypes
            self.upcast = upcast
        }
    }

    /// The counters behind ``statistics``, shared with the envelope handler.
    package final class Counters: Sendable {
        private let handledCount = Atomic<Int>(0)
        private let skippedCount = Atomic<Int>(0)
        private let upcastCount = Atomic<Int>(0)

        package init() {}

        func handled() { handledCount.add(1, ordering: .relaxed) }
        func skipped() { skippedCount.add(1, ordering: .relaxed) }
        func upcasted() { upcastCount.add(1, ordering: .relaxed) }

        var snapshot: Statistics {
            Statistics(
                handled: handledCount.load(ordering: .relaxed),
                skippedUnknownTypes: skippedCount.load(ordering: .relaxed),
                upcast: upcastCount.load(ordering: .relaxed))
        }
    }

    private let inner: any Subscription
    private let counters: Counters

    package init(inner: any Subscription, counters: Counters) {
        self.inner = inner
        self.counters = counters
    }

    /// The topic it reads.
    public var topic: String { inner.topic }
    /// The consumer group it belongs to.
    public var group: String { inner.group }
    /// What the typed layer did so far.
    public var statistics: Statistics { counters.snapshot }

    /// Closes the underlying envelope subscription (see ``Subscription/close()``).
    public func close() async {
        await inner.close()
    }
}
