import EventBus
import EventBusConformance
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Wraps a working bus and breaks one promise of the ``EventBus`` protocol, to prove the conformance
/// scenario that guards that promise notices.
final class FaultyBus: EventBus {
    /// The promise to break.
    enum Fault: Sendable {
        /// Publishing silently loses every n-th message.
        case dropEveryNth(Int)
        /// The handler is called twice for every n-th message.
        case duplicateEveryNth(Int)
        /// Only one handler runs at a time, over all keys.
        case serializeHandlers
        /// Publish returns at once and hands the message over later: no backpressure.
        case publishWithoutBackpressure
        /// A batch is published in reverse order.
        case reverseBatches
        /// Handler errors are swallowed: no restart, no dead letter.
        case swallowHandlerErrors
        /// A file descriptor is opened and never closed.
        case leakDescriptor
        /// Every subscription starts a thread of the bus's own that outlives `shutdown()` (it ends
        /// 60 s later, so the test process is not left with it for good).
        case leakThread
        /// Publishing after shutdown silently does nothing.
        case ignorePublishAfterShutdown
        /// `close()` waits for every running handler, even the one calling it.
        case closeWaitsForHandlers
        /// Every n-th message is handled twice at the same time, as by two members at once.
        case handleConcurrentlyTwiceEveryNth(Int)
        /// Topic and group names are silently made legal (each other character becomes `-`, cut at
        /// 100 characters) instead of refused.
        case repairIllegalNames
        /// A message whose `X-Event-ID` was published before is silently dropped, as NATS JetStream
        /// drops a repeated `Nats-Msg-Id`, even when it is a replay.
        case dropRepeatedEventIDs
        /// `consumerLag` reads every partition as caught up.
        case reportNoLag
        /// `health()` says `healthy` whatever the bus found.
        case alwaysHealthy
        /// `publishPipelined` returns at once and publishes from a task of its own, every other
        /// call 5 ms late, so successive calls may overtake each other; its receipt settles when
        /// that publish returns.
        case pipelineWithoutOrder
        /// `publishPipelined` queues what it can of a call and returns a receipt that fails the
        /// rest, instead of refusing the whole call before queueing anything.
        case pipelinePartially
    }

    private let inner: any EventBus
    private let fault: Fault
    private let published = Counter()
    private let delivered = Counter()
    private let serial = Mutex(false)
    private let isShutDown = Flag()
    private let runningHandlers = Counter()
    private let publishedEventIDs = Mutex<Set<String>>([])

    init(_ inner: any EventBus, fault: Fault) {
        self.inner = inner
        self.fault = fault
        if case .leakDescriptor = fault {
            _ = open("/dev/null", O_RDONLY)
        }
    }

    func publish(_ message: OutgoingMessage) async throws(EventBusError) {
        try await publish([message])
    }

    func publish(_ messages: [OutgoingMessage]) async throws(EventBusError) {
        switch fault {
        case .dropEveryNth(let n):
            try await inner.publish(messages.filter { _ in published.add() % n != 0 })
        case .publishWithoutBackpressure:
            for message in messages {
                Task { [inner] in try? await inner.publish(message) }
            }
        case .reverseBatches:
            try await inner.publish(messages.reversed())
        case .ignorePublishAfterShutdown where isShutDown.isSet:
            return
        case .dropRepeatedEventIDs:
            let fresh = publishedEventIDs.withLock { seen in
                messages.filter { message in
                    guard let id = message.headers[header: OutgoingMessage.EnvelopeHeader.eventID] else { return true }
                    return seen.insert(id).inserted
                }
            }
            try await inner.publish(fresh)
        case .repairIllegalNames:
            try await inner.publish(
                messages.map { message in
                    var repaired = message
                    repaired.topic = Self.repaired(message.topic)
                    return repaired
                })
        default:
            try await inner.publish(messages)
        }
    }

    func publishPipelined(_ messages: [OutgoingMessage]) async throws(EventBusError) -> PublishReceipt {
        switch fault {
        case .pipelineWithoutOrder:
            for message in messages { try EventBusNames.validateTopic(message.topic, deadLetterSuffix: ".dlq") }
            let late = published.add() % 2 == 1
            let completion = PublishCompletion(count: messages.count)
            Task { [inner] in
                if late { try? await Task.sleep(for: .milliseconds(5)) }
                do throws(EventBusError) {
                    try await inner.publish(messages)
                    completion.finish(count: messages.count, error: nil)
                } catch {
                    completion.finish(count: messages.count, error: error)
                }
            }
            return PublishReceipt(completion)
        case .pipelinePartially:
            var accepted: [OutgoingMessage] = []
            var refusal: EventBusError?
            for message in messages {
                do {
                    try EventBusNames.validateTopic(message.topic, deadLetterSuffix: ".dlq")
                    accepted.append(message)
                } catch {
                    refusal = error
                }
            }
            try await inner.publish(accepted)
            guard let refusal else { return try await inner.publishPipelined([]) }
            let completion = PublishCompletion(count: 1)
            completion.finish(error: refusal)
            return PublishReceipt(completion)
        default:
            return try await inner.publishPipelined(messages)
        }
    }

    func publishPipelined(_ envelopes: [Envelope], to topic: String) async throws(EventBusError) -> PublishReceipt {
        switch fault {
        case .pipelineWithoutOrder, .pipelinePartially:
            var messages: [OutgoingMessage] = []
            for envelope in envelopes { messages.append(try OutgoingMessage(envelope: envelope, topic: topic)) }
            return try await publishPipelined(messages)
        default:
            return try await inner.publishPipelined(envelopes, to: topic)
        }
    }

    func subscribe(
        topic: String, group: String, handler: @escaping MessageHandler
    ) async throws(EventBusError) -> any Subscription {
        if case .leakThread = fault {
            let thread = Thread { Thread.sleep(forTimeInterval: 60) }
            thread.name = "faulty-bus-leak"
            thread.start()
        }
        let subscription: any Subscription
        if case .repairIllegalNames = fault {
            subscription = try await inner.subscribe(
                topic: Self.repaired(topic), group: Self.repaired(group), handler: wrap(handler))
        } else {
            subscription = try await inner.subscribe(topic: topic, group: group, handler: wrap(handler))
        }
        if case .closeWaitsForHandlers = fault {
            return HandlerWaitingSubscription(subscription, running: runningHandlers)
        }
        return subscription
    }

    private func wrap(_ handler: @escaping MessageHandler) -> MessageHandler {
        switch fault {
        case .duplicateEveryNth(let n):
            return { [delivered] message in
                try await handler(message)
                if delivered.add() % n == 0 { try await handler(message) }
            }
        case .serializeHandlers:
            return { message in
                while !self.enterSerial() {
                    try? await Task.sleep(for: .milliseconds(1))
                }
                defer { self.serial.withLock { $0 = false } }
                try await handler(message)
            }
        case .swallowHandlerErrors:
            return { message in try? await handler(message) }
        case .handleConcurrentlyTwiceEveryNth(let n):
            return { [delivered] message in
                guard delivered.add() % n == 0 else { return try await handler(message) }
                async let twin: Void = handler(message)
                try await handler(message)
                try await twin
            }
        case .closeWaitsForHandlers:
            return { [runningHandlers] message in
                runningHandlers.add()
                defer { runningHandlers.add(-1) }
                try await handler(message)
            }
        default:
            return handler
        }
    }

    private static func repaired(_ name: String) -> String {
        let scalars = name.unicodeScalars.prefix(100).map { scalar -> Unicode.Scalar in
            scalar.isASCII && EventBusNames.isNameByte(UInt8(scalar.value)) ? scalar : "-"
        }
        return String(String.UnicodeScalarView(scalars))
    }

    private func enterSerial() -> Bool {
        serial.withLock { busy in
            if busy { return false }
            busy = true
            return true
        }
    }

    func consumerLag(topic: String, group: String) async throws(EventBusError) -> ConsumerLag {
        let lag = try await inner.consumerLag(topic: topic, group: group)
        guard case .reportNoLag = fault else { return lag }
        return ConsumerLag(
            topic: topic, group: group,
            partitions: lag.partitions.map { ConsumerLag.Partition(partition: $0.partition, lag: 0) })
    }

    func health() async -> BusHealth {
        var health = await inner.health()
        if case .alwaysHealthy = fault { health.status = .healthy }
        return health
    }

    func shutdown() async {
        isShutDown.set()
        await inner.shutdown()
    }
}
