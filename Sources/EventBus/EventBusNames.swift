/// The topic and consumer-group names every backend accepts: one rule set, the strictest among the
/// backends, so a name that works on the embedded ``InMemoryEventBus`` also works on Kafka and NATS.
///
/// Every bus checks these rules at `publish` and `subscribe` and throws ``EventBusError`` with code
/// ``EventBusError/Code/invalidArgument``, ``EventBusError/field`` `"topic"` or `"group"`, and a
/// message stating the rule. A backend may add rules of its own (NATS: consumer-name length with a
/// long durable prefix); it documents them.
///
/// - **Topic**: 1 to ``maxTopicLength`` (249) ASCII letters, digits, `-` and `_`, optionally followed
///   by the bus's dead-letter suffix (default `.dlq`) to name a topic's dead letters. This is Apache
///   Kafka's rule (`org.apache.kafka.common.internals.Topic`: `[a-zA-Z0-9._-]`, at most 249
///   characters, not `.` or `..`) without the dot: on NATS a topic is one subject token (a dot would
///   nest `a.b` under topic `a`'s subjects), and Kafka treats `.` and `_` alike in metric names.
/// - A topic may not end in the suffix spelled with `_` for `.` (`_dlq`): Kafka refuses to create
///   `orders.dlq` next to an existing `orders_dlq` (they collide in its metric names).
/// - **Subscribed topic**: `subscribe` also creates or reads `<topic><suffix>`, so topic and suffix
///   together are at most ``maxTopicLength`` characters (by default a topic of at most 245).
/// - **Group**: 1 or more ASCII letters, digits, `-` and `_` (NATS durable consumer names cannot hold
///   `.`, `*`, `>`, whitespace or path separators; Kafka allows more), and topic and group together
///   at most ``maxTopicAndGroupLength`` (239) characters: nats-server limits consumer names to 255
///   bytes and the NATS bus names one `eventbus_<topic>_<group>_plain`.
public enum EventBusNames {
    /// The longest topic name, in characters (Apache Kafka's `Topic.MAX_NAME_LENGTH`).
    public static let maxTopicLength = 249
    /// The longest topic and group names together, in characters: 255 (nats-server's
    /// `JSMaxNameLen`) less the 16 characters the NATS bus adds with its default durable prefix
    /// (`eventbus_` + `_` + `_plain`).
    public static let maxTopicAndGroupLength = 239

    /// Throws `invalidArgument` (field `"topic"`) unless `topic` is a topic name or the dead-letter
    /// topic (`<topic><deadLetterSuffix>`) of one; the rule `publish` applies.
    public static func validateTopic(_ topic: String, deadLetterSuffix: String) throws(EventBusError) {
        guard !topic.isEmpty else { throw invalid("topic", "topic must not be empty") }
        let base = deadLetterBase(of: topic, deadLetterSuffix: deadLetterSuffix) ?? topic
        guard !base.isEmpty else {
            throw invalid("topic", "topic '\(topic)' is a dead-letter suffix without a topic before it")
        }
        if let byte = base.utf8.first(where: { !isNameByte($0) }) {
            let dot =
                byte == UInt8(ascii: ".")
                ? "; '.' appears only in the dead-letter suffix '\(deadLetterSuffix)'" : ""
            throw invalid(
                "topic",
                "topic '\(printable(topic))' may contain only ASCII letters, digits, '-' and '_'\(dot) "
                    + "(Kafka's legal characters without '.', one NATS subject token)")
        }
        guard topic.utf8.count <= maxTopicLength else {
            throw invalid(
                "topic", "topic is \(topic.utf8.count) characters long; Kafka allows at most \(maxTopicLength)")
        }
        let collidingEnd = String(deadLetterSuffix.map { $0 == "." ? "_" : $0 })
        if collidingEnd != deadLetterSuffix, base.hasSuffix(collidingEnd) {
            throw invalid(
                "topic",
                "topic '\(topic)' may not end in '\(collidingEnd)': Kafka refuses it next to the dead-letter "
                    + "topic '\(base.dropLast(collidingEnd.count))\(deadLetterSuffix)' ('.' and '_' collide in its metric names)"
            )
        }
    }

    /// Throws `invalidArgument` (field `"topic"` or `"group"`) unless `topic` and `group` may be
    /// subscribed: ``validateTopic(_:deadLetterSuffix:)``, room for the topic's own dead-letter topic,
    /// ``validateGroup(_:)``, and at most ``maxTopicAndGroupLength`` characters together.
    public static func validateSubscription(
        topic: String, group: String, deadLetterSuffix: String
    ) throws(EventBusError) {
        try validateTopic(topic, deadLetterSuffix: deadLetterSuffix)
        guard topic.utf8.count + deadLetterSuffix.utf8.count <= maxTopicLength else {
            throw invalid(
                "topic",
                "a subscribed topic is at most \(maxTopicLength - deadLetterSuffix.utf8.count) characters long, so "
                    + "that its dead-letter topic (+ '\(deadLetterSuffix)') stays within Kafka's \(maxTopicLength)")
        }
        try validateGroup(group)
        guard topic.utf8.count + group.utf8.count <= maxTopicAndGroupLength else {
            throw invalid(
                "group",
                "topic and group are \(topic.utf8.count + group.utf8.count) characters together; at most "
                    + "\(maxTopicAndGroupLength) fit a NATS consumer name (255 bytes)")
        }
    }

    /// Throws `invalidArgument` (field `"group"`) unless `group` is 1 or more ASCII letters, digits,
    /// `-` and `_`.
    public static func validateGroup(_ group: String) throws(EventBusError) {
        guard !group.isEmpty else { throw invalid("group", "group must not be empty") }
        guard group.utf8.allSatisfy(isNameByte) else {
            throw invalid(
                "group",
                "group '\(printable(group))' may contain only ASCII letters, digits, '-' and '_' "
                    + "(it becomes part of a NATS consumer name)")
        }
    }

    /// Throws `invalidConfiguration` (field `field`) unless `suffix` is 1 to 32 characters of Kafka's
    /// legal characters, at least one of them not a name character (`.dlq`), so a dead-letter topic
    /// is a legal Kafka topic and tells itself apart from ordinary topics.
    public static func validateDeadLetterSuffix(_ suffix: String, field: String) throws(EventBusError) {
        guard (1...32).contains(suffix.utf8.count),
            suffix.utf8.allSatisfy({ isNameByte($0) || $0 == UInt8(ascii: ".") }),
            suffix.utf8.contains(UInt8(ascii: "."))
        else {
            throw EventBusError(
                .invalidConfiguration,
                "dead-letter suffix '\(printable(suffix))' must be 1 to 32 ASCII letters, digits, '-', '_' and '.', "
                    + "with at least one '.' (default '.dlq')",
                field: field)
        }
    }

    /// The topic whose dead letters `topic` holds (`orders` for `orders.dlq`), or `nil` when `topic`
    /// does not end in `deadLetterSuffix`.
    public static func deadLetterBase(of topic: String, deadLetterSuffix: String) -> String? {
        guard !deadLetterSuffix.isEmpty, topic.hasSuffix(deadLetterSuffix) else { return nil }
        return String(topic.dropLast(deadLetterSuffix.count))
    }

    /// Whether `byte` is an ASCII letter, digit, `-` or `_`.
    public static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default:
            false
        }
    }

    private static func invalid(_ field: String, _ message: String) -> EventBusError {
        EventBusError(.invalidArgument, message, field: field)
    }

    /// `name` with control characters escaped and cut at 64 characters, for error messages.
    private static func printable(_ name: String) -> String {
        let shown = name.unicodeScalars.prefix(64).map { scalar in
            scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
        }.joined()
        return name.unicodeScalars.count > 64 ? shown + "…" : shown
    }
}
