/// Reads the trace ID out of a W3C Trace Context `traceparent` header, and nothing else.
///
/// swift-distributed-tracing has no trace-ID accessor on `ServiceContext`, so the bus asks the
/// instrument to inject the context and reads back the header a W3C propagator wrote
/// (`version-traceid-parentid-flags`, <https://www.w3.org/TR/trace-context/#traceparent-header>).
/// The library never writes this header itself.
enum TraceParent {
    /// The header name W3C propagators write.
    static let headerName = "traceparent"

    /// The 32 lowercase hex digits of the trace-id field, or nil when `value` is not a
    /// `traceparent` (wrong length or digits, version `ff`, or the all-zero invalid trace ID).
    static func traceID(_ value: String) -> String? {
        let bytes = Array(value.utf8)
        // version(2) - trace-id(32) - parent-id(16) - flags(2); later versions may append fields.
        guard bytes.count >= 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"),
            bytes[52] == UInt8(ascii: "-"),
            bytes[0..<2].allSatisfy(isLowerHex), !(bytes[0] == UInt8(ascii: "f") && bytes[1] == UInt8(ascii: "f")),
            bytes[3..<35].allSatisfy(isLowerHex), bytes[3..<35].contains(where: { $0 != UInt8(ascii: "0") })
        else { return nil }
        return String(decoding: bytes[3..<35], as: UTF8.self)
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
    }
}
