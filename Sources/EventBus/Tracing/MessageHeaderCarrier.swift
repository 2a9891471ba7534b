import Instrumentation

/// Writes trace context into a message's headers for an `Instrument`'s `inject`.
///
/// A value replaces the first header of the same name (compared case-sensitively, like
/// ``MessageHeader/name``) and is appended when there is none, so a message published again keeps
/// one `traceparent`, the newest. Use it to propagate context by hand, for example into a message
/// built for another system:
///
/// ```swift
/// InstrumentationSystem.instrument.inject(ServiceContext.current ?? .topLevel, into: &headers, using: MessageHeaderInjector())
/// ```
public struct MessageHeaderInjector: Injector {
    /// Creates an injector.
    public init() {}

    /// Sets header `key` to `value`.
    public func inject(_ value: String, forKey key: String, into carrier: inout [MessageHeader]) {
        if let index = carrier.firstIndex(where: { $0.name == key }) {
            carrier[index].value = value
        } else {
            carrier.append(MessageHeader(name: key, value: value))
        }
    }
}

/// Reads trace context from a received message's headers for an `Instrument`'s `extract`.
public struct MessageHeaderExtractor: Extractor {
    /// Creates an extractor.
    public init() {}

    /// The value of the first header named `key` (case-sensitive), or nil.
    public func extract(key: String, from carrier: [MessageHeader]) -> String? {
        carrier[header: key]
    }
}
