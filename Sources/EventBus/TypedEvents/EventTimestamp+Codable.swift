extension EventTimestamp: Codable {
    /// Decodes RFC 3339 text, as ``init(rfc3339:)`` reads it and Go's `time.Time.UnmarshalJSON` writes it.
    ///
    /// For typed events (``DomainEvent``) exchanged with Go services: a `time.Time` field arrives as
    /// such a string, which `Date`'s default `Codable` form (seconds since 2001 as a number) cannot
    /// read. Throws `DecodingError.dataCorrupted` for text that is not RFC 3339 or names an instant
    /// outside years 1677–2262.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try EventTimestamp(rfc3339: text)
        } catch {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: decoder.codingPath, debugDescription: "not an RFC 3339 timestamp: \(error.message)",
                    underlyingError: error))
        }
    }

    /// Encodes the timestamp as ``rfc3339`` text, exactly as Go's `time.Time.MarshalJSON` does
    /// (nanoseconds, trailing zeros trimmed, `Z`).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rfc3339)
    }
}
