import EventBus

/// The topic → subject mapping and NATS subject matching, free of any connection.
///
/// A topic's keyed messages go to one of its partitions, `<prefix>.<topic>.p.<n>` with
/// `n = FNV-1a-32(UTF-8 bytes of the key) % partitions` (the hash nats-server's `partition()`
/// subject transform uses, Go's `hash/fnv` `New32a`); keyless messages go round-robin over the
/// partitions. `<prefix>.<topic>` itself stays open for publishers that know nothing of partitions
/// (a Go jxt-core service); consumers read it as one more lane. Dead letters go to
/// `<prefix>.<topic><suffix>`. A topic is one subject token of letters, digits, `-` and `_`: dots
/// would nest it under another topic's subject and wildcards would make it a pattern.
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
        try Self.validateToken(topic, field: "topic")
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

    /// The stream subjects used when none are configured: every topic's plain subject and its
    /// partitions, no dead letters.
    public var defaultStreamSubjects: [String] { [prefix + ".*", prefix + ".*.p.*"] }

    /// The dead-letter stream's subjects: every topic's dead letters.
    public var deadLetterStreamSubjects: [String] { [prefix + ".*" + deadLetterSuffix] }

    /// The durable consumer name of a (topic, group) pair.
    public static func durableName(prefix: String, topic: String, group: String) throws(EventBusError)
        -> String
    {
        try validateToken(topic, field: "topic")
        try validateToken(group, field: "group")
        return prefix + "_" + topic + "_" + group
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
