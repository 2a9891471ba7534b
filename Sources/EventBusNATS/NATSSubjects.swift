import EventBus

/// The topic → subject mapping and NATS subject matching, free of any connection.
///
/// A topic's keyed messages go to one of its partitions, `<prefix>.<topic>.p.<n>` with
/// `n = FNV-1a-32(UTF-8 bytes of the key) % partitions` (the hash nats-server's `partition()`
/// subject transform uses, Go's `hash/fnv` `New32a`); keyless messages go round-robin over the
/// partitions. `<prefix>.<topic>` itself stays open for publishers that know nothing of partitions
/// (a Go jxt-core service); consumers read it as one more lane. Dead letters go to
/// `<prefix>.<topic><suffix>`. Topics follow `EventBusNames`: one subject token of letters,
/// digits, `-` and `_` (dots would nest it under another topic's subject, wildcards would make it a
/// pattern), so the plain (2 tokens), partition (4) and dead-letter (3) subjects never meet.
///
/// Consumer names are one to one with (topic, group, lane): see
/// ``laneConsumerNames(prefix:topic:group:partitions:)``.
public struct NATSSubjects: Sendable, Equatable {
    /// The first token(s) of every subject.
    public let prefix: String
    /// Appended to a topic subject for its dead letters.
    public let deadLetterSuffix: String
    /// How many partitions every topic has.
    public let partitions: Int

    /// Creates a mapping; `partitions` must be at least 1.
    public init(prefix: String, deadLetterSuffix: String, partitions: Int = 1) {
        self.prefix = prefix
        self.deadLetterSuffix = deadLetterSuffix
        self.partitions = max(1, partitions)
    }

    /// The plain subject of a topic, where publishers without partitioning publish; throws for an
    /// unusable topic.
    public func subject(forTopic topic: String) throws(EventBusError) -> String {
        try EventBusNames.validateTopic(topic, deadLetterSuffix: deadLetterSuffix)
        if EventBusNames.deadLetterBase(of: topic, deadLetterSuffix: deadLetterSuffix) != nil {
            throw EventBusError(
                .invalidArgument,
                "topic '\(topic)' names dead letters: use deadLetterSubject(forTopic:) with the topic before '\(deadLetterSuffix)'",
                field: "topic")
        }
        return prefix + "." + topic
    }

    /// The subject of one partition of a topic: `<prefix>.<topic>.p.<partition>`.
    public func subject(forTopic topic: String, partition: Int) throws(EventBusError) -> String {
        try subject(forTopic: topic) + ".p." + String(partition)
    }

    /// The partition of `key`: FNV-1a 32 over its UTF-8 bytes, modulo ``partitions``.
    public func partition(forKey key: String) -> Int {
        Int(KeyHash.fnv1a(key) % UInt32(partitions))
    }

    /// The subject a topic's dead letters are published on.
    public func deadLetterSubject(forTopic topic: String) throws(EventBusError) -> String {
        try subject(forTopic: topic) + deadLetterSuffix
    }

    /// The topic a subject of this mapping belongs to: `orders` for `<prefix>.orders`,
    /// `<prefix>.orders.p.3`, and `orders.dlq` (with the default suffix) for its dead-letter
    /// subject; nil for a subject outside the prefix.
    public func topic(ofSubject subject: String) -> String? {
        guard subject.hasPrefix(prefix + ".") else { return nil }
        let rest = subject.dropFirst(prefix.count + 1)
        if rest.hasSuffix(deadLetterSuffix), !rest.dropLast(deadLetterSuffix.count).contains(".") {
            return String(rest)
        }
        return String(rest.prefix { $0 != "." })
    }

    /// The stream subjects used when none are configured: every topic's plain subject and its
    /// partitions, no dead letters.
    public var defaultStreamSubjects: [String] { [prefix + ".*", prefix + ".*.p.*"] }

    /// The dead-letter stream's subjects: every topic's dead letters.
    public var deadLetterStreamSubjects: [String] { [prefix + ".*" + deadLetterSuffix] }

    /// nats-server's longest stream or consumer name, in bytes (`JSMaxNameLen`; nats-server 2.15.1
    /// accepts a 255-byte consumer name and refuses a 256-byte one).
    public static let maxConsumerNameLength = 255

    /// What `_` inside a topic or group becomes in consumer names, so that `_` only separates.
    ///
    /// `~` is outside the topic and group alphabet (`EventBusNames`) and legal in consumer names
    /// (nats-server refuses only whitespace, `.`, `*`, `>` and path separators).
    public static let escapedUnderscore: Character = "~"

    /// The base name of a (topic, group) pair: `<prefix>_<topic>_<group>` with every `_` inside
    /// topic and group written as ``escapedUnderscore``. Its lane consumers append `_p<n>` and
    /// `_plain` (``laneConsumerNames(prefix:topic:group:partitions:)``); the membership subject ends
    /// with it.
    ///
    /// One to one: for a fixed `prefix`, the escaped topic and group hold no `_`, so the text after
    /// `<prefix>_` splits at its `_`s into exactly the escaped topic, the escaped group and (for a
    /// lane) the lane, and unescaping gives the pair back. Names without `_` in topic and group are
    /// the names the bus used before escaping. Throws `invalidArgument` (field `topic` or `group`)
    /// unless both are 1 or more letters, digits, `-` and `_`.
    public static func durableName(prefix: String, topic: String, group: String) throws(EventBusError)
        -> String
    {
        try validateNameParts(topic: topic, group: group)
        return prefix + "_" + escaped(topic) + "_" + escaped(group)
    }

    /// The durable consumers of a (topic, group) pair's lanes, in lane order: `<base>_p<n>` for
    /// partitions `0..<partitions`, then `<base>_plain` for the plain subject, where `<base>` is
    /// ``durableName(prefix:topic:group:)``. Lane suffixes hold no `_` after their own, so the
    /// mapping stays one to one (a group `g_p3` is `g~p3`, never the lane `p3` of group `g`).
    ///
    /// Throws `invalidArgument` (field `group`) when the longest name exceeds
    /// ``maxConsumerNameLength`` bytes: topic and group together may then be at most
    /// 255 − `prefix` − 8 characters (239 with the default prefix `eventbus`).
    public static func laneConsumerNames(
        prefix: String, topic: String, group: String, partitions: Int
    ) throws(EventBusError) -> [String] {
        let base = try durableName(prefix: prefix, topic: topic, group: group)
        var names = (0..<max(1, partitions)).map { "\(base)_p\($0)" }
        names.append(base + "_plain")
        try checkLength(names.map(\.utf8.count).max() ?? 0, prefix: prefix, extra: 8, topic: topic, group: group)
        return names
    }

    /// The durable consumer reading a (topic, group) pair's dead letters from the dead-letter
    /// stream: `<prefix>_dlq_<topic>_<group>`, escaped as in ``durableName(prefix:topic:group:)``
    /// and one to one for the same reason. `topic` is the topic whose dead letters are read (`orders`
    /// for `orders.dlq`). Throws `invalidArgument` as ``laneConsumerNames(prefix:topic:group:partitions:)``.
    public static func deadLetterDurableName(prefix: String, topic: String, group: String) throws(EventBusError)
        -> String
    {
        let name = try durableName(prefix: prefix + "_dlq", topic: topic, group: group)
        try checkLength(name.utf8.count, prefix: prefix, extra: 6, topic: topic, group: group)
        return name
    }

    private static func validateNameParts(topic: String, group: String) throws(EventBusError) {
        guard !topic.isEmpty, topic.utf8.allSatisfy(EventBusNames.isNameByte) else {
            throw EventBusError(
                .invalidArgument, "topic '\(topic)' must be 1 or more letters, digits, '-' and '_'", field: "topic")
        }
        try EventBusNames.validateGroup(group)
    }

    private static func checkLength(
        _ length: Int, prefix: String, extra: Int, topic: String, group: String
    ) throws(EventBusError) {
        guard length > maxConsumerNameLength else { return }
        throw EventBusError(
            .invalidArgument,
            "topic and group are \(topic.utf8.count + group.utf8.count) characters together; with durable prefix "
                + "'\(prefix)' at most \(maxConsumerNameLength - prefix.utf8.count - extra) fit a NATS consumer name "
                + "(\(maxConsumerNameLength) bytes)",
            field: "group")
    }

    private static func escaped(_ part: String) -> String {
        String(part.map { $0 == "_" ? escapedUnderscore : $0 })
    }

    /// Throws unless `token` is a non-empty run of letters, digits, `-` and `_`.
    public static func validateToken(_ token: String, field: String) throws(EventBusError) {
        guard !token.isEmpty else {
            throw EventBusError(.invalidArgument, "\(field) must not be empty", field: field)
        }
        guard token.utf8.count <= 200 else {
            throw EventBusError(.invalidArgument, "\(field) is longer than 200 bytes", field: field)
        }
        for byte in token.utf8 where !Self.isTokenByte(byte) {
            throw EventBusError(
                .invalidArgument,
                "\(field) '\(token)' may contain only letters, digits, '-' and '_' (it becomes one NATS subject token)",
                field: field)
        }
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    /// Whether the subject pattern `pattern` (with `*` and `>` wildcards) matches `subject`.
    public static func matches(pattern: String, subject: String) -> Bool {
        let patternTokens = pattern.split(separator: ".", omittingEmptySubsequences: false)
        let subjectTokens = subject.split(separator: ".", omittingEmptySubsequences: false)
        for (index, token) in patternTokens.enumerated() {
            if token == ">" { return subjectTokens.count > index }
            guard index < subjectTokens.count else { return false }
            if token != "*" && token != subjectTokens[index] { return false }
        }
        return patternTokens.count == subjectTokens.count
    }

    /// Whether any of `patterns` matches `subject`.
    public static func covers(_ patterns: [String], subject: String) -> Bool {
        patterns.contains { matches(pattern: $0, subject: subject) }
    }
}
