/// One name/value pair carried beside a message's payload.
///
/// Kept as an ordered array rather than a dictionary: brokers preserve header order, allow repeated
/// names, and a handful of pairs is cheaper to scan than to hash.
public struct MessageHeader: Sendable, Hashable {
    /// The header's name, compared case-sensitively.
    public var name: String
    /// The header's value.
    public var value: String

    /// Creates a header.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

extension Array where Element == MessageHeader {
    /// The value of the first header named `name`, if any.
    public subscript(header name: String) -> String? {
        for header in self where header.name == name {
            return header.value
        }
        return nil
    }
}
