import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Lets many threads use a C handle concurrently while one of them destroys it safely.
///
/// Users enter and leave around each call (one atomic add each); `close` forbids new entries and
/// waits until the calls in progress have left, after which the handle may be freed.
final class HandleGuard: Sendable {
    private static let closedBit = 1 << 62
    private let state = Atomic<Int>(0)

    /// Enters; false once the handle is closing (the caller must not touch it).
    func enter() -> Bool {
        let value = state.add(1, ordering: .acquiring).newValue
        if value & Self.closedBit != 0 {
            state.subtract(1, ordering: .releasing)
            return false
        }
        return true
    }

    /// Leaves after `enter()` returned true.
    func leave() {
        state.subtract(1, ordering: .releasing)
    }

    /// Forbids new entries and waits (blocking) for current users; true for the first caller only.
    func close() -> Bool {
        let before = state.bitwiseOr(Self.closedBit, ordering: .acquiringAndReleasing).oldValue
        guard before & Self.closedBit == 0 else { return false }
        while state.load(ordering: .acquiring) & ~Self.closedBit != 0 { usleep(100) }
        return true
    }
}
