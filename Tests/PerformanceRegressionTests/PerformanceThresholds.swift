import Foundation

/// The committed limits one backend's pressure levels must stay within.
///
/// They come from measured medians with a margin for noisy 2-core machines (see the file's `note`);
/// they are never loosened to make a run pass: a regression is fixed or explained.
struct PerformanceThresholds: Decodable {
    struct Level: Decodable {
        /// Messages per second the level must at least reach.
        let minThroughput: Double
        /// The publish-to-handler p99 latency it must stay under, in milliseconds.
        let maxP99Milliseconds: Double
        /// The RSS increment after shutdown it must stay under, in MB.
        let maxMemoryIncrementMB: Double
        /// Process CPU per message (first publish to last handled) it must stay under, in µs.
        let maxCpuMicrosecondsPerMessage: Double
    }

    let backend: String
    let note: String
    let levels: [String: Level]

    /// Loads `Thresholds/<backend>.json` beside this file.
    static func load(backend: String) throws -> PerformanceThresholds {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()
            .appendingPathComponent("Thresholds")
            .appendingPathComponent("\(backend).json")
        return try JSONDecoder().decode(PerformanceThresholds.self, from: Data(contentsOf: url))
    }

    func level(_ name: String) throws -> Level {
        guard let level = levels[name] else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "no threshold for \(name)"])
        }
        return level
    }
}
