import Logging
import Synchronization

/// Counts what nats.c reports about the connection, from its callback threads, for health.
final class NativeConnectionEvents: Sendable {
    /// What happened to the connection.
    enum Event: Sendable { case connected, disconnected, closed }

    private let logger: Logger
    private let disconnects = Atomic<Int>(0)
    private let reconnects = Atomic<Int>(0)
    private let connectedOnce = Atomic<Bool>(false)
    /// Since when the server has been unreachable (nil: reachable), and why; for health's
    /// `unhealthyAfter` bound.
    private let outage = Mutex<(since: ContinuousClock.Instant, reason: String)?>(nil)
    /// The server's `max_payload` as last read (``NativeConnection/knownMaxPayload``); 0 while not known.
    let maxPayload = Atomic<Int>(0)

    init(logger: Logger) {
        self.logger = logger
    }

    /// The events object behind a callback's closure pointer.
    static func from(_ closure: UnsafeMutableRawPointer?) -> NativeConnectionEvents? {
        guard let closure else { return nil }
        return Unmanaged<NativeConnectionEvents>.fromOpaque(closure).takeUnretainedValue()
    }

    func record(_ event: Event) {
        switch event {
        case .connected:
            if connectedOnce.exchange(true, ordering: .relaxed) {
                reconnects.add(1, ordering: .relaxed)
                logger.info("NATS connection re-established")
            }
            markReachable()
        case .disconnected:
            disconnects.add(1, ordering: .relaxed)
            markUnreachable("the connection to the server was lost; nats.c is reconnecting")
            logger.info("NATS connection lost; reconnecting")
        case .closed:
            logger.debug("NATS connection closed")
        }
    }

    /// Notes that the server did not answer (or the connection is down): the outage starts now
    /// unless one is already running; `reason` replaces the last one.
    func markUnreachable(_ reason: String, at now: ContinuousClock.Instant = .now) {
        outage.withLock { outage in outage = (outage?.since ?? now, reason) }
    }

    /// Notes that the server answered: any outage is over.
    func markReachable() {
        outage.withLock { $0 = nil }
    }

    /// The running outage: since when and why; nil while the server answers.
    var unreachable: (since: ContinuousClock.Instant, reason: String)? { outage.withLock { $0 } }

    var disconnectCount: Int { disconnects.load(ordering: .relaxed) }
    var reconnectCount: Int { reconnects.load(ordering: .relaxed) }
}
