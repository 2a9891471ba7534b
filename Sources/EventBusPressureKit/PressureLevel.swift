/// One of the reference report's pressure levels, or a custom size.
public struct PressureLevel: Sendable, Hashable, Codable {
    /// The level's name as printed: low, medium, high, extreme, or custom.
    public var name: String
    /// How many messages the level publishes.
    public var messages: Int

    /// Creates a level.
    public init(name: String, messages: Int) {
        self.name = name
        self.messages = messages
    }

    /// 1,000 messages.
    public static let low = PressureLevel(name: "low", messages: 1_000)
    /// 4,000 messages.
    public static let medium = PressureLevel(name: "medium", messages: 4_000)
    /// 6,000 messages.
    public static let high = PressureLevel(name: "high", messages: 6_000)
    /// 10,000 messages.
    public static let extreme = PressureLevel(name: "extreme", messages: 10_000)
    /// The four levels of the reference report, in order.
    public static let reference: [PressureLevel] = [.low, .medium, .high, .extreme]

    /// A level of `messages` messages named after its size.
    public static func custom(_ messages: Int) -> PressureLevel {
        PressureLevel(name: "custom-\(messages)", messages: messages)
    }
}
