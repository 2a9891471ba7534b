import EventBus

extension ConformanceSuite {
    /// One message of the round-trip table and whether the backend must refuse it at publish.
    private struct EdgeCase {
        let name: String
        let key: String?
        let headers: [MessageHeader]
        let payload: [UInt8]
        let refused: Bool
    }

    /// The edge values every backend must carry exactly or refuse at `publish` with
    /// `invalidArgument`: keys, header names and values and payloads.
    private static func edgeCases(_ features: ConformanceFeatures) -> [EdgeCase] {
        let trims = !features.carriesSurroundingWhitespace
        let header = { (name: String, value: String) in MessageHeader(name: name, value: value) }
        var cases: [EdgeCase] = [
            EdgeCase(name: "empty key", key: "", headers: [], payload: Array("1".utf8), refused: false),
            EdgeCase(name: "no key", key: nil, headers: [], payload: Array("2".utf8), refused: false),
            EdgeCase(name: "non-ASCII key", key: "ключ-ü-😀", headers: [], payload: Array("3".utf8), refused: false),
            EdgeCase(name: "key with inner space", key: "a b", headers: [], payload: Array("4".utf8), refused: false),
            EdgeCase(name: "key with surrounding spaces", key: " k ", headers: [], payload: [5], refused: trims),
            EdgeCase(
                name: "empty header value", key: "k", headers: [header("X-Normal", "ok"), header("X-Empty", "")],
                payload: [6], refused: false),
            EdgeCase(
                name: "blank header value", key: "k", headers: [header("X-Blank", "   ")], payload: [7], refused: trims),
            EdgeCase(
                name: "header value with surrounding spaces", key: "k", headers: [header("X-Padded", "  v  ")],
                payload: [8], refused: trims),
            EdgeCase(
                name: "non-ASCII, colon and tab in header values", key: "k",
                headers: [header("X-Unicode", "ü€😀"), header("X-Colon", "a: b"), header("X-Tab", "a\tb")],
                payload: [9], refused: false),
            EdgeCase(
                name: "repeated header names", key: "k",
                headers: [header("X-Rep", "1"), header("X-Rep", "2"), header("X-Rep", "1")], payload: [10],
                refused: false),
            EdgeCase(
                name: "header name case", key: "k", headers: [header("x-lower", "a"), header("X-MiXeD", "b")],
                payload: [11], refused: false),
            EdgeCase(
                name: "long header value", key: "k", headers: [header("X-Long", String(repeating: "v", count: 8192))],
                payload: [12], refused: false),
            EdgeCase(name: "empty payload", key: "k", headers: [], payload: [], refused: false),
            EdgeCase(
                name: "every byte value", key: "k", headers: [], payload: (0...255).map { UInt8($0) }, refused: false),
            EdgeCase(
                name: "surrounding whitespace in payload", key: "k", headers: [], payload: Array(" {}\n".utf8),
                refused: false),
        ]
        // The largest message: a payload leaving room for the key, the headers and the broker's framing.
        let large = (features.maxMessageBytes ?? 600_000) - 8_192
        cases.append(
            EdgeCase(
                name: "payload of \(large) bytes", key: "k", headers: [],
                payload: (0..<large).map { UInt8(truncatingIfNeeded: $0 &* 31) }, refused: false))
        if let limit = features.maxMessageBytes {
            cases.append(
                EdgeCase(
                    name: "payload over the broker's limit of \(limit) bytes", key: "k", headers: [],
                    payload: [UInt8](repeating: 7, count: limit + 1), refused: true))
        }
        return cases
    }

    /// Publishes every edge case with a leading `X-Case` header naming it: the refused ones must
    /// throw `invalidArgument` at publish, the others must arrive with exactly the key, headers
    /// (names, values, order, repeats) and payload they were sent with.
    static func roundTripsEdgeValues(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let seen = Recorder<ReceivedMessage>()
        _ = try await bus.subscribe(topic: topic, group: context.group()) { seen.record($0) }
        let cases = edgeCases(context.features)
        var expected: [Int: EdgeCase] = [:]
        for (index, edge) in cases.enumerated() {
            let message = OutgoingMessage(
                topic: topic, key: edge.key, headers: [MessageHeader(name: "X-Case", value: "\(index)")] + edge.headers,
                payload: edge.payload)
            if edge.refused {
                try await expectCode(.invalidArgument, "publish of '\(edge.name)'") { try await bus.publish(message) }
            } else {
                do {
                    try await bus.publish(message)
                } catch {
                    throw fail("publish of '\(edge.name)' threw \(error); it should arrive as sent")
                }
                expected[index] = edge
            }
        }
        try await waitUntil(timeout: context.timeout(15), "\(expected.count) edge cases handled (have \(seen.count))") {
            Set(seen.snapshot.compactMap { $0.headers.first?.value }).count >= expected.count
        }
        var mismatches: [String] = []
        for message in seen.snapshot {
            guard let first = message.headers.first, first.name == "X-Case", let index = Int(first.value),
                let edge = expected[index]
            else {
                mismatches.append("an unexpected message with headers \(message.headers.prefix(3))")
                continue
            }
            let headers = Array(message.headers.dropFirst())
            if message.key != edge.key {
                mismatches.append(
                    "'\(edge.name)': key \(String(describing: message.key)), sent \(String(describing: edge.key))")
            }
            if headers != edge.headers {
                mismatches.append(
                    "'\(edge.name)': headers \(headers.map { "\($0.name): \"\($0.value.prefix(40))\"" }), sent \(edge.headers.map { "\($0.name): \"\($0.value.prefix(40))\"" })"
                )
            }
            if message.payload != edge.payload {
                mismatches.append(
                    "'\(edge.name)': payload of \(message.payload.count) bytes differs from the \(edge.payload.count) sent"
                )
            }
        }
        try expect(mismatches.isEmpty, "not carried exactly: \(mismatches.joined(separator: "; "))")
        return .passed(notes: [
            "\(expected.count) edge cases carried exactly, \(cases.count - expected.count) refused at publish"
        ])
    }
}
