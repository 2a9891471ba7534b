/// The envelopes of one publish call, shared by every message carried from it.
final class EnvelopeBatch: Sendable {
    let envelopes: [Envelope]

    init(_ envelopes: [Envelope]) {
        self.envelopes = envelopes
    }

    /// Calls `body` with envelope `index` lent to it: the batch's own envelope, without the copy a
    /// read of `envelopes[index]` makes.
    ///
    /// Swift copies an array element it passes to a function it cannot see into, `await` or not (a
    /// retain and a release of the event ID's storage and of the payload's, which every envelope of
    /// a fan-out or a constant body shares, so both cores write its reference count: perf, 1M
    /// in-memory run, ~10 % of the CPU in the envelope handler's copy). Here the handler gets a
    /// bitwise copy that owns nothing:
    /// - it is read with `move()`, which takes the value's bits without retaining what they
    ///   reference and writes nothing (the batch's storage is not touched);
    /// - everything those bits reference stays alive and unchanged for as long as `self` does:
    ///   `envelopes` is a `let` that nothing mutates, and the caller holds `self` for the call
    ///   (a method's `self` is kept alive by its caller);
    /// - `body` takes its parameter borrowed, as every Swift function does: what it keeps of the
    ///   envelope it copies (retains) itself;
    /// - afterwards the bits are forgotten, not destroyed (`forget(_:)`), so nothing is released
    ///   that was not retained, on every path out, thrown errors included.
    ///
    /// `index` is one the batch was built with (the broker's, from `envelopes.indices`): it is
    /// checked in debug builds only.
    @inline(__always)
    func lend<Failure: Error>(_ index: Int, to body: (Envelope) async throws(Failure) -> Void) async throws(Failure) {
        assert(envelopes.indices.contains(index))
        let lent = envelopes.withUnsafeBufferPointer { buffer in
            UnsafeMutablePointer(mutating: buffer.baseAddress! + index).move()
        }
        do {
            try await body(lent)
        } catch {
            Self.forget(consume lent)
            throw error
        }
        Self.forget(consume lent)
    }

    /// The synchronous form of the `async` `lend(_:to:)` above, for the
    /// publish path's validation, which read every envelope through a copy as well.
    @inline(__always)
    func lend<Result, Failure: Error>(_ index: Int, to body: (Envelope) throws(Failure) -> Result) throws(Failure)
        -> Result
    {
        assert(envelopes.indices.contains(index))
        let lent = envelopes.withUnsafeBufferPointer { buffer in
            UnsafeMutablePointer(mutating: buffer.baseAddress! + index).move()
        }
        let result: Result
        do {
            result = try body(lent)
        } catch {
            Self.forget(consume lent)
            throw error
        }
        Self.forget(consume lent)
        return result
    }

    /// Ends the lifetime of a lent envelope's bits without releasing what they reference: they
    /// are overwritten, as raw bytes the optimizer does not reason about, with those of `nil`,
    /// whose destruction releases nothing. (Overwriting them with `initialize(to:)` crashed the
    /// Swift 6.3 optimizer's ownership verifier.)
    @inline(__always)
    private static func forget(_ lent: consuming Envelope) {
        var spent: Envelope? = consume lent
        let none: Envelope? = nil
        withUnsafeBytes(of: none) { none in
            withUnsafeMutableBytes(of: &spent) { $0.copyMemory(from: none) }
        }
    }
}
