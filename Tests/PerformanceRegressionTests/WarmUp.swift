import EventBusPressureKit

/// Runs one small pressure run per backend before the measured ones, so the runtime's threads and
/// the backend's first connections exist before a baseline is taken and do not count as leaks.
actor WarmUp {
    static let shared = WarmUp()
    private var done: Set<String> = []

    func ensure(_ target: PressureTarget) async throws {
        guard !done.contains(target.backend) else { return }
        // Faults too: restart backoffs use timers, whose threads should exist before the baseline.
        _ = try await PressureRunner.run(
            PressureWorkload(level: .custom(1000), failOnceRate: 0.01, alwaysFailRate: 0.002),
            on: target, settle: false
        )
        done.insert(target.backend)
    }
}
