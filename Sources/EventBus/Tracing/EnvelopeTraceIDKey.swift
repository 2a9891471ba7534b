import Instrumentation

/// The `trace_id` an incoming event carried, kept in the handler's `ServiceContext`.
///
/// Go jxt-core services put their trace into the envelope's `trace_id` (and the `X-Trace-ID`
/// header) without a W3C `traceparent`. When tracing is on, the bus puts that ID here for the
/// handler, read with `ServiceContext.eventBusTraceID`: from the `X-Trace-ID` header, else from
/// the envelope the bus already holds (carried in memory, or decoded for keyless routing). The
/// payload is never decoded for it alone. It is set whether or not a `traceparent` came too; with
/// one, the handler's span already belongs to that trace.
public enum EnvelopeTraceIDKey: ServiceContextKey {
    /// The trace ID as the publisher wrote it (any string; jxt-core writes 32 hex digits).
    public typealias Value = String

    /// The name tracers see when they list context values.
    public static var nameOverride: String? { "eventbus.envelope.trace_id" }
}

extension ServiceContext {
    /// The `trace_id` of the event being handled (``EnvelopeTraceIDKey``), if it carried one.
    public var eventBusTraceID: String? {
        get { self[EnvelopeTraceIDKey.self] }
        set { self[EnvelopeTraceIDKey.self] = newValue }
    }
}
