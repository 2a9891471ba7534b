/// The health rule every backend shares for consumer lag (``ActorPoolConfiguration/maxConsumerLag``).
package enum LagHealth {
    /// One subscription as health sees it.
    package struct Member: Sendable {
        package var topic: String
        package var group: String
        package var metrics: SubscriptionMetrics?

        package init(topic: String, group: String, metrics: SubscriptionMetrics?) {
            self.topic = topic
            self.group = group
            self.metrics = metrics
        }
    }

    /// Reads the lag of each distinct (topic, group) of `members` once and adds what it found to
    /// `details`: `eventbus.consume.lag` (every reading, `topic/group=N`), and for readings above
    /// `bound` `eventbus.consume.lagging_subscriptions` and a cause; a reading that failed goes to
    /// `eventbus.consume.lag_errors` and does not change the verdict (connectivity has its own
    /// rules). Returns whether any reading exceeded `bound`. Records the lag gauges on the way.
    package static func check(
        bound: Int64?, members: [Member], details: inout [String: String],
        read: (String, String) async throws(EventBusError) -> ConsumerLag
    ) async -> Bool {
        guard let bound, !members.isEmpty else { return false }
        var seen = Set<String>()
        var readings: [String] = []
        var lagging: [String] = []
        var errors: [String] = []
        for member in members {
            let name = "\(member.topic)/\(member.group)"
            guard seen.insert(name).inserted else { continue }
            do {
                let lag = try await read(member.topic, member.group)
                for other in members where other.topic == member.topic && other.group == member.group {
                    other.metrics?.record(lag)
                }
                readings.append("\(name)=\(lag.total)")
                if lag.total > bound { lagging.append("\(name): \(lag.total) messages") }
            } catch {
                errors.append("\(name): \(error.message)")
            }
        }
        details["eventbus.consume.lag"] = readings.joined(separator: "; ")
        if !errors.isEmpty { details["eventbus.consume.lag_errors"] = errors.joined(separator: "; ") }
        guard !lagging.isEmpty else { return false }
        details["eventbus.consume.lagging_subscriptions"] = String(lagging.count)
        BusHealth.appendCause("lag above \(bound): " + lagging.joined(separator: "; "), to: &details)
        return true
    }
}
