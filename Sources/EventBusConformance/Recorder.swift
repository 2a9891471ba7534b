import Synchronization

/// Records what handlers saw, in the order they saw it, for the scenario to check afterwards.
public final class Recorder<Element: Sendable>: Sendable {
    private let elements = Mutex<[Element]>([])

    /// Creates an empty recorder.
    public init() {}

    /// Appends `element`.
    public func record(_ element: Element) {
        elements.withLock { $0.append(element) }
    }

    /// How many elements were recorded.
    public var count: Int { elements.withLock { $0.count } }

    /// A copy of everything recorded so far.
    public var snapshot: [Element] { elements.withLock { $0 } }
}
