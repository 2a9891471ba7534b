import CNats
import EventBus

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes and reads the NATS headers of a message.
enum NativeHeaders {
    /// The header JetStream deduplicates on.
    static let messageID = "Nats-Msg-Id"
    /// Carries a message key that is not already the aggregate ID; reserved, and taken out of the
    /// headers again on receipt.
    static let key = "X-Key"

    /// Takes the last `X-Key` out of received `headers` and returns its value: it carries the key
    /// on the wire and is not one of the message's headers. Nil when there is none.
    static func removeKey(from headers: inout [MessageHeader]) -> String? {
        guard let index = headers.lastIndex(where: { $0.name == key }) else { return nil }
        return headers.remove(at: index).value
    }

    /// A received message's key from its `headers`: the last `X-Key`, taken out of them
    /// (``removeKey(from:)``), else the first `X-Aggregate-ID`, which stays.
    static func takeKey(from headers: inout [MessageHeader]) -> String? {
        removeKey(from: &headers) ?? headers[header: OutgoingMessage.EnvelopeHeader.aggregateID]
    }

    /// Writes the wire form of a message into `bytes`: its headers encoded as NATS sends them (with
    /// `Nats-Msg-Id` = its `X-Replay-ID` when it is a replayed dead letter, else its event ID, unless
    /// the message brings a `Nats-Msg-Id` of its own; and `X-Key` when the key is not the aggregate
    /// ID), then its payload. Returns the length of the header block, or nil when the message has no
    /// headers at all: then its payload alone is its wire form and `bytes` is left empty.
    ///
    /// `bytes` is emptied first and its capacity kept, so a publisher that passes the same array for
    /// every message allocates it once (measured: building a fresh array a message, with per-header
    /// checks through slices and closures, took 0.69 µs of the publishing thread's 1.31 a message in
    /// an extreme-level run, 2026-11-30).
    ///
    /// Encoding here instead of through `natsMsgHeader_Set` saves nats.c a hash map and two string
    /// copies per header on every publish. Names and values that the NATS header format cannot
    /// carry are refused rather than altered: CR, LF and NUL in a value (nats.c would turn CR and
    /// LF into spaces), and whitespace at either end of a value, which every NATS client's reader
    /// trims (the header block follows MIME/HTTP header syntax, whose values carry no surrounding
    /// whitespace: RFC 9110 section 5.5). An empty value is carried.
    static func encode(_ message: OutgoingMessage, into bytes: inout [UInt8]) throws(EventBusError) -> Int? {
        bytes.removeAll(keepingCapacity: true)
        var eventID: String?
        var replayID: String?
        var aggregateID: String?
        var hasMessageID = false
        var headerBytes = 0
        for header in message.headers {
            switch header.name {
            case OutgoingMessage.EnvelopeHeader.eventID: eventID = header.value
            case DeadLetter.Header.replayID: replayID = header.value
            case OutgoingMessage.EnvelopeHeader.aggregateID: aggregateID = header.value
            case messageID: hasMessageID = true
            case key:
                throw EventBusError(
                    .invalidArgument,
                    "the header name '\(key)' is reserved: the NATS backend carries the message key in it")
            default: break
            }
            headerBytes += header.name.utf8.count + header.value.utf8.count + 4
        }
        // The two extra headers as optionals rather than an array: one malloc less per message.
        let idValue = hasMessageID ? nil : (replayID ?? eventID)
        let keyValue = message.key.flatMap { $0 == aggregateID ? nil : $0 }
        if let idValue { headerBytes += messageID.utf8.count + idValue.utf8.count + 4 }
        if let keyValue { headerBytes += key.utf8.count + keyValue.utf8.count + 4 }
        guard !message.headers.isEmpty || idValue != nil || keyValue != nil else { return nil }

        let version: StaticString = "NATS/1.0\r\n"
        bytes.reserveCapacity(version.utf8CodeUnitCount + headerBytes + 2 + message.payload.count)
        version.withUTF8Buffer { bytes.append(contentsOf: $0) }
        for header in message.headers { try append(name: header.name, value: header.value, to: &bytes) }
        if let idValue { try append(name: messageID, value: idValue, to: &bytes) }
        if let keyValue { try append(name: key, value: keyValue, to: &bytes) }
        bytes.append(UInt8(ascii: "\r"))
        bytes.append(UInt8(ascii: "\n"))
        let headerLength = bytes.count
        bytes.append(contentsOf: message.payload)
        return headerLength
    }

    /// The `Nats-Msg-Id` that ``encode(_:into:)`` sends for a message with `headers`: its own, else
    /// its `X-Replay-ID`, else its event ID.
    static func messageID(of headers: [MessageHeader]) -> String? {
        headers[header: messageID] ?? headers[header: DeadLetter.Header.replayID]
            ?? headers[header: OutgoingMessage.EnvelopeHeader.eventID]
    }

    /// The bytes `message` takes on the wire, headers and payload, as nats-server counts them
    /// against `max_payload`; nil when its headers cannot be carried.
    static func wireSize(of message: OutgoingMessage) -> Int? {
        var bytes: [UInt8] = []
        return try? wireSize(of: message, scratch: &bytes)
    }

    /// ``wireSize(of:)``, with the headers encoded in `scratch`; throws what ``encode(_:into:)``
    /// refuses about them.
    private static func wireSize(of message: OutgoingMessage, scratch: inout [UInt8]) throws(EventBusError) -> Int {
        var headersOnly = message
        headersOnly.payload = []
        return (try encode(headersOnly, into: &scratch) ?? 0) + message.payload.count
    }

    /// Throws what the publishing thread would refuse `message` for: headers it cannot carry
    /// (`invalidArgument`) or more bytes, headers and payload together, than `limit` (the server's
    /// `max_payload`; 0 when not known). `scratch` holds the encoded headers, to be reused.
    static func checkCarriable(_ message: OutgoingMessage, limit: Int, scratch: inout [UInt8]) throws(EventBusError) {
        let size = try wireSize(of: message, scratch: &scratch)
        if limit > 0, size > limit { throw oversized(size, limit: limit) }
    }

    /// The error for a message of `size` bytes above the server's `max_payload` of `limit`.
    static func oversized(_ size: Int, limit: Int) -> EventBusError {
        EventBusError(
            .invalidArgument,
            "the message is \(size) bytes with its headers; the NATS server accepts at most \(limit) (max_payload)",
            field: "payload")
    }

    /// Appends `Name: Value\r\n`, checked in place: copied with one `memcpy` each, then scanned.
    private static func append(name: String, value: String, to bytes: inout [UInt8]) throws(EventBusError) {
        let start = bytes.count
        appendUTF8(of: name, to: &bytes)
        let nameEnd = bytes.count
        bytes.append(UInt8(ascii: ":"))
        bytes.append(UInt8(ascii: " "))
        let valueStart = bytes.count
        appendUTF8(of: value, to: &bytes)
        let valueEnd = bytes.count
        enum Problem { case name, character, whitespace }
        let problem = bytes.withUnsafeBufferPointer { buffer -> Problem? in
            guard nameEnd > start else { return .name }
            for index in start..<nameEnd where isForbiddenInName(buffer[index]) { return .name }
            for index in valueStart..<valueEnd where isForbiddenInValue(buffer[index]) { return .character }
            if valueEnd > valueStart, isSpace(buffer[valueStart]) || isSpace(buffer[valueEnd - 1]) {
                return .whitespace
            }
            return nil
        }
        switch problem {
        case nil: break
        case .name:
            throw EventBusError(
                .invalidArgument,
                "NATS header name '\(name)' must be non-empty, without ':', spaces or control characters")
        case .character:
            throw EventBusError(.invalidArgument, "the value of NATS header '\(name)' must not contain CR, LF or NUL")
        case .whitespace:
            let what = name == key ? "the message key" : "the value of NATS header '\(name)'"
            throw EventBusError(
                .invalidArgument,
                "\(what) must not start or end with whitespace: NATS header readers trim it, so it would not arrive as sent"
            )
        }
        bytes.append(UInt8(ascii: "\r"))
        bytes.append(UInt8(ascii: "\n"))
    }

    /// Appends a string's UTF-8 bytes with one copy (a native string's storage is contiguous).
    private static func appendUTF8(of string: String, to bytes: inout [UInt8]) {
        var string = string
        string.withUTF8 { bytes.append(contentsOf: $0) }
    }

    private static func isForbiddenInName(_ byte: UInt8) -> Bool {
        byte <= 0x20 || byte == 0x7F || byte == UInt8(ascii: ":")
    }

    private static func isForbiddenInValue(_ byte: UInt8) -> Bool {
        byte == 0 || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
    }

    /// The value nats.c finds for header `name` of `natsMessage` (status lines' `Status` and
    /// `Description` included), or nil.
    static func value(_ name: String, of natsMessage: OpaquePointer) -> String? {
        var value: UnsafePointer<CChar>?
        guard natsMsgHeader_Get(natsMessage, name, &value) == NATS_OK, let value else { return nil }
        return String(cString: value)
    }

    /// Every header of a received message.
    ///
    /// Read in wire order straight from the header block (``readInPlace(_:droppingLast:)``) or, for a
    /// block that does not look exactly as expected, through nats.c's accessors, as before. nats.c
    /// lifts the block into a hash map inside the message when asked: never from two threads at once.
    ///
    /// With `droppingLast`, the last header of that name is left out (the server's `Nats-Pin-Id`,
    /// which it appends to every message it delivers to a pinned client): never built as a string
    /// at all, instead of built and removed again (measured: removing it afterwards took 1 % of
    /// the process's CPU in an extreme-level run).
    static func read(_ natsMessage: OpaquePointer, droppingLast dropped: StaticString? = nil) -> [MessageHeader] {
        if let headers = readInPlace(natsMessage, droppingLast: dropped) { return headers }
        var headers = readThroughNATS(natsMessage)
        if let dropped, let index = headers.lastIndex(where: { $0.name == dropped.description }) {
            headers.remove(at: index)
        }
        return headers
    }

    /// Every header of a received message read in wire order straight from the header block, which
    /// nats.c keeps between the reply subject and the payload (the layout of `natsMsg_create`,
    /// unchanged from nats.c 1.x to today's main); nil for a block that does not look exactly as
    /// expected (another layout, headers nats.c already lifted, a status line, folded or empty
    /// values), which only nats.c's accessors read. Asking nats.c instead lifts the block into a
    /// hash map first: a malloc per header and two arrays, for every message. Reads the message's
    /// bytes only, so any number of threads may call it at once. An empty value is read as empty
    /// here (nats.c's own parser would take the next header line for it).
    static func readInPlace(_ natsMessage: OpaquePointer, droppingLast dropped: StaticString? = nil)
        -> [MessageHeader]?
    {
        guard let block = rawBlock(of: natsMessage) else { return nil }
        return parse(block, droppingLast: dropped)
    }

    /// What ``messageKey(of:)`` found.
    enum KeyScan {
        /// The key: the last `X-Key`, else the first `X-Aggregate-ID`, else none.
        case key(String?)
        /// The header block is not one ``readInPlace(_:droppingLast:)`` reads.
        case unreadable
    }

    /// A received message's key, as ``read(_:droppingLast:)`` followed by ``takeKey(from:)``
    /// would give it, scanned in place without building any other header. Reads the message's
    /// bytes only.
    static func messageKey(of natsMessage: OpaquePointer) -> KeyScan {
        guard let block = rawBlock(of: natsMessage), let base = block.baseAddress else { return .unreadable }
        let aggregateName: StaticString = "X-Aggregate-ID"
        let keyName: StaticString = "X-Key"
        var lastKey: Range<Int>?
        var firstAggregate: Range<Int>?
        let readable = forEachLine(block) { name, value in
            if name.count == keyName.utf8CodeUnitCount,
                memcmp(base + name.lowerBound, keyName.utf8Start, name.count) == 0
            {
                lastKey = value
            } else if firstAggregate == nil, name.count == aggregateName.utf8CodeUnitCount,
                memcmp(base + name.lowerBound, aggregateName.utf8Start, name.count) == 0
            {
                firstAggregate = value
            }
        }
        guard readable else { return .unreadable }
        guard let range = lastKey ?? firstAggregate else { return .key(nil) }
        return .key(String(decoding: UnsafeBufferPointer(rebasing: block[range]), as: UTF8.self))
    }

    /// The bytes between the reply subject's terminating NUL and the NUL before the payload.
    private static func rawBlock(of natsMessage: OpaquePointer) -> UnsafeBufferPointer<UInt8>? {
        guard let reply = natsMsg_GetReply(natsMessage), let data = natsMsg_GetData(natsMessage) else {
            return nil
        }
        let start = UnsafeRawPointer(reply) + strlen(reply) + 1
        let end = UnsafeRawPointer(data) - 1
        let length = end - start
        // "NATS/1.0\r\n\r\n" is the shortest block; anything far larger is not one of ours.
        guard length >= 12, length <= 65_536, end.load(as: UInt8.self) == 0 else { return nil }
        return UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self), count: length)
    }

    /// Calls `visit` with the name and value ranges (the value trimmed) of each line of
    /// `NATS/1.0\r\n` + `Name: Value\r\n`… + `\r\n`, in order; false, part way through, for
    /// anything else.
    private static func forEachLine(
        _ block: UnsafeBufferPointer<UInt8>, _ visit: (_ name: Range<Int>, _ value: Range<Int>) -> Void
    ) -> Bool {
        let carriageReturn = UInt8(ascii: "\r")
        let lineFeed = UInt8(ascii: "\n")
        let colon = UInt8(ascii: ":")
        let count = block.count
        let version: StaticString = "NATS/1.0\r\n"
        guard count >= 12, block[count - 4] == carriageReturn, block[count - 3] == lineFeed,
            block[count - 2] == carriageReturn, block[count - 1] == lineFeed
        else { return false }
        for index in 0..<version.utf8CodeUnitCount where block[index] != version.utf8Start[index] {
            return false
        }
        guard let base = block.baseAddress else { return false }
        // A NUL can only sit inside a line (the version and the end are compared above), where it is
        // refused. The lines are then found with memchr, which reads 32 bytes a step: a byte-by-byte
        // loop looking for CR, LF, NUL and ':' at once was most of the fetch thread's key lookup
        // (2026-11-30, `perf annotate` of an extreme-level run).
        if memchr(base, 0, count) != nil { return false }
        func find(_ byte: UInt8, from start: Int, to end: Int) -> Int? {
            guard start < end, let found = memchr(base + start, Int32(byte), end - start) else { return nil }
            return UnsafeRawPointer(found) - UnsafeRawPointer(base)
        }
        var index = version.utf8CodeUnitCount
        let bodyEnd = count - 2
        while index < bodyEnd {
            let lineStart = index
            // The line runs to its CR; one without a CR of its own ends at the block's final CR LF.
            let lineEnd = find(carriageReturn, from: lineStart, to: bodyEnd) ?? bodyEnd
            if find(lineFeed, from: lineStart, to: lineEnd) != nil { return false }
            let nameEnd = find(colon, from: lineStart, to: lineEnd) ?? -1
            index = lineEnd
            guard index + 1 < count, block[index + 1] == lineFeed, nameEnd > lineStart,
                !isSpace(block[lineStart])
            else { return false }
            var valueStart = nameEnd + 1
            var valueEnd = index
            while valueStart < valueEnd, isSpace(block[valueStart]) { valueStart += 1 }
            while valueEnd > valueStart, isSpace(block[valueEnd - 1]) { valueEnd -= 1 }
            visit(lineStart..<nameEnd, valueStart..<valueEnd)
            index += 2
        }
        return true
    }

    /// Parses `NATS/1.0\r\n` + `Name: Value\r\n`… + `\r\n`; nil for anything else.
    private static func parse(_ block: UnsafeBufferPointer<UInt8>, droppingLast dropped: StaticString?)
        -> [MessageHeader]?
    {
        guard let base = block.baseAddress else { return nil }
        var headers: [MessageHeader] = []
        // One line a header: sized once instead of growing 1, 2, 4, 8 (a malloc each).
        var lines = 0
        // memchr jumps from line to line; a byte-by-byte loop costs microseconds in debug builds.
        var cursor = UnsafeRawPointer(base)
        let end = cursor + block.count
        while cursor < end, let found = memchr(cursor, Int32(UInt8(ascii: "\n")), end - cursor) {
            lines += 1
            cursor = UnsafeRawPointer(found) + 1
        }
        headers.reserveCapacity(max(0, lines - 2))
        // The last header named `dropped` seen so far, kept back until a later one of that name shows
        // it was not the last.
        var droppedCandidate: (name: Range<Int>, value: Range<Int>, position: Int)?
        // The last value too long for a small string (over 15 bytes): a later header with the same
        // bytes (`Nats-Msg-Id` repeats `X-Event-ID`) shares its storage instead of allocating its own.
        var lastLong: (range: Range<Int>, value: String)?
        func header(_ name: Range<Int>, _ value: Range<Int>) -> MessageHeader {
            let text: String
            if let lastLong, lastLong.range.count == value.count,
                memcmp(base + lastLong.range.lowerBound, base + value.lowerBound, value.count) == 0
            {
                text = lastLong.value
            } else {
                text = String(decoding: UnsafeBufferPointer(rebasing: block[value]), as: UTF8.self)
                if value.count > 15 { lastLong = (value, text) }
            }
            return MessageHeader(name: knownName(block, name), value: text)
        }
        let readable = forEachLine(block) { name, value in
            if let dropped, name.count == dropped.utf8CodeUnitCount,
                memcmp(base + name.lowerBound, dropped.utf8Start, name.count) == 0
            {
                if let earlier = droppedCandidate {
                    headers.insert(header(earlier.name, earlier.value), at: earlier.position)
                }
                droppedCandidate = (name, value, headers.count)
            } else {
                headers.append(header(name, value))
            }
        }
        return readable ? headers : nil
    }

    /// The names the bus writes itself, as the constants they are.
    private static let knownNames: [(bytes: [UInt8], name: String)] = [
        OutgoingMessage.EnvelopeHeader.eventID, OutgoingMessage.EnvelopeHeader.aggregateID,
        OutgoingMessage.EnvelopeHeader.eventVersion, OutgoingMessage.EnvelopeHeader.eventType, messageID,
    ].map { (Array($0.utf8), $0) }

    /// The name in `block[range]`: one of ``knownNames`` without building and validating a new
    /// string, or a new string.
    private static func knownName(_ block: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        let start = block.baseAddress! + range.lowerBound
        for known in knownNames where known.bytes.count == range.count {
            if known.bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress!, start, range.count) }) == 0 {
                return known.name
            }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: block[range]), as: UTF8.self)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    /// Every header of `natsMessage` through nats.c's accessors, in the order nats.c keeps them.
    /// Lifts the header block into a hash map inside the message: not from two threads at once.
    private static func readThroughNATS(_ natsMessage: OpaquePointer) -> [MessageHeader] {
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var count: Int32 = 0
        guard natsMsgHeader_Keys(natsMessage, &keys, &count) == NATS_OK, let keys else { return [] }
        defer { free(keys) }
        var headers: [MessageHeader] = []
        headers.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            guard let key = keys[index] else { continue }
            var values: UnsafeMutablePointer<UnsafePointer<CChar>?>?
            var valueCount: Int32 = 0
            guard natsMsgHeader_Values(natsMessage, key, &values, &valueCount) == NATS_OK, let values else {
                continue
            }
            let name = String(cString: key)
            for valueIndex in 0..<Int(valueCount) {
                if let value = values[valueIndex] {
                    headers.append(MessageHeader(name: name, value: String(cString: value)))
                }
            }
            free(values)
        }
        return headers
    }
}
