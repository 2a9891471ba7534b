import Synchronization

/// Generates RFC 9562 version 7 UUIDs: time-ordered, so event IDs sort by creation time.
///
/// Like Go's `github.com/google/uuid` (which jxt-core uses), the 12 bits after the millisecond
/// timestamp carry sub-millisecond clock precision (RFC 9562 §6.2, method 3), and a process-wide
/// counter keeps the IDs of one process strictly increasing even when the clock stalls or steps back.
public enum UUIDv7 {
    /// The last (milliseconds << 12 | sub-millisecond fraction) handed out.
    private static let lastTimestamp = Atomic<UInt64>(0)

    /// Drawn once from the system's generator. Asking the kernel for randomness per ID (a
    /// `getrandom` call) cost more than the rest of publishing an event.
    private static let seed: UInt64 = {
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }()

    /// A new UUIDv7 in canonical lowercase text form, greater than every one this process made before.
    public static func generate() -> String {
        generate(at: .now())
    }

    /// A new UUIDv7 whose time is `now`, or just after the last one handed out if that was not
    /// earlier; for a caller that needs the same instant for something else (an envelope's
    /// timestamp), so the clock is read once for both.
    static func generate(at now: EventTimestamp) -> String {
        let timestamp = nextTimestamp(now)
        // The timestamp is unique in the process (``nextTimestamp(_:)`` never hands one out twice),
        // which alone makes the IDs unique; the odd multiplier, the seed and ``mix(_:)`` are each a
        // bijection, so the 64 mixed bits differ between any two IDs too (62 of them are kept), and
        // the seed makes them differ between processes. There is no second shared counter (a Weyl
        // sequence here before) that every publishing thread writes.
        let random = mix(seed ^ (timestamp &* 0x9E37_79B9_7F4A_7C15))
        // 48 bits of milliseconds, version 7, 12 bits of sub-millisecond time; variant 10, 62 random bits.
        let high = (timestamp >> 12) << 16 | 0x7000 | (timestamp & 0x0FFF)
        let low = (random & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return format(high: high, low: low)
    }

    private static func nextTimestamp(_ instant: EventTimestamp) -> UInt64 {
        // A clock before 1970 would make the conversion trap; clamp it to the epoch instead.
        let sinceEpoch = UInt64(clamping: instant.nanosecondsSinceEpoch)
        let millis = (sinceEpoch / 1_000_000) & 0xFFFF_FFFF_FFFF
        let fraction = (sinceEpoch % 1_000_000) * 4096 / 1_000_000
        let now = millis << 12 | fraction
        var last = lastTimestamp.load(ordering: .relaxed)
        while true {
            let next = now > last ? now : last &+ 1
            let (exchanged, original) = lastTimestamp.compareExchange(
                expected: last, desired: next, ordering: .relaxed)
            if exchanged { return next }
            last = original
        }
    }

    /// SplitMix64's finaliser: a bijection, so distinct steps never give the same bits.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func format(high: UInt64, low: UInt64) -> String {
        let hexDigits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var index = 0
            func put(_ value: UInt64, nibbles: Int) {
                var shift = (nibbles - 1) * 4
                while shift >= 0 {
                    buffer[index] = hexDigits.utf8Start[Int((value >> UInt64(shift)) & 0xF)]
                    index += 1
                    shift -= 4
                }
            }
            func dash() {
                buffer[index] = UInt8(ascii: "-")
                index += 1
            }
            put(high >> 32, nibbles: 8)
            dash()
            put((high >> 16) & 0xFFFF, nibbles: 4)
            dash()
            put(high & 0xFFFF, nibbles: 4)
            dash()
            put(low >> 48, nibbles: 4)
            dash()
            put(low & 0xFFFF_FFFF_FFFF, nibbles: 12)
            return 36
        }
    }
}
