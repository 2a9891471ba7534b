/// Word-at-a-time searches for the bytes that end a run of plain JSON string contents.
///
/// Identifiers, types and payload strings are mostly plain ASCII; testing eight bytes per step
/// (the SWAR "has zero byte" trick) instead of one keeps string scanning and escaping off the
/// codec's profile.
enum JSONStringBytes {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// The high bit of each byte of `word` that is zero is set.
    @inline(__always)
    private static func zeroBytes(_ word: UInt64) -> UInt64 {
        (word &- ones) & ~word & highBits
    }

    /// A non-zero result when some byte of `word` is `"`, `\` or a control character (below 0x20),
    /// or, when `stopAtNonASCII`, 0x80 or above.
    @inline(__always)
    private static func special(_ word: UInt64, stopAtNonASCII: Bool) -> UInt64 {
        let quote = zeroBytes(word ^ (ones &* 0x22))
        let backslash = zeroBytes(word ^ (ones &* 0x5C))
        // Bytes below 0x20 borrow when 0x20 is subtracted; exclude bytes that had the high bit set.
        let control = (word &- ones &* 0x20) & ~word & highBits
        let nonASCII = stopAtNonASCII ? word & highBits : 0
        return quote | backslash | control | nonASCII
    }

    /// The index of the first byte in `start..<end` that is `"`, `\`, below 0x20, or (when
    /// `stopAtNonASCII`) 0x80 or above; `end` when there is none.
    @inline(__always)
    static func firstSpecial(in bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, stopAtNonASCII: Bool)
        -> Int
    {
        var index = start
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            while index + 8 <= end {
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                let found = special(word, stopAtNonASCII: stopAtNonASCII)
                if found != 0 {
                    // The lowest flagged byte is exact; flags above it may be borrow artefacts.
                    return index + found.trailingZeroBitCount / 8
                }
                index += 8
            }
        }
        while index < end {
            let byte = bytes[index]
            if byte == 0x22 || byte == 0x5C || byte < 0x20 || (stopAtNonASCII && byte >= 0x80) { return index }
            index += 1
        }
        return end
    }
}
