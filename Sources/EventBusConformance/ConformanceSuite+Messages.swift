import EventBus

extension ConformanceSuite {
    /// A raw message whose payload is its sequence number as text.
    static func numbered(_ number: Int, topic: String, key: String? = nil) -> OutgoingMessage {
        OutgoingMessage(topic: topic, key: key, payload: Array(String(number).utf8))
    }

    /// The sequence number in a payload made by ``numbered(_:topic:key:)``, or -1.
    static func number(in message: ReceivedMessage) -> Int {
        Int(String(decoding: message.payload, as: UTF8.self)) ?? -1
    }

    /// An envelope of version `version` of aggregate `aggregateID` with a small JSON payload.
    static func event(_ aggregateID: String, version: Int64) -> Envelope {
        Envelope(
            aggregateID: aggregateID, eventType: "ConformanceEvent", eventVersion: version,
            payload: Array(#"{"aggregate":"\#(aggregateID)","version":\#(version)}"#.utf8))
    }

    /// Describes which of `expected` are missing from `seen` and which were seen more than once.
    static func deliveryReport(expected: Range<Int>, seen: [Int]) -> (
        missing: [Int], duplicates: Int, unexpected: [Int]
    ) {
        var counts = [Int](repeating: 0, count: expected.count)
        var unexpected: [Int] = []
        for number in seen {
            if expected.contains(number) {
                counts[number - expected.lowerBound] += 1
            } else {
                unexpected.append(number)
            }
        }
        var missing: [Int] = []
        var duplicates = 0
        for (offset, count) in counts.enumerated() {
            if count == 0 { missing.append(expected.lowerBound + offset) }
            if count > 1 { duplicates += count - 1 }
        }
        return (missing, duplicates, unexpected)
    }

    /// The first few elements of `values`, for failure messages.
    static func sample<T>(_ values: [T], limit: Int = 10) -> String {
        let shown = values.prefix(limit).map { "\($0)" }.joined(separator: ", ")
        return values.count > limit ? "[\(shown), … \(values.count) in all]" : "[\(shown)]"
    }
}
