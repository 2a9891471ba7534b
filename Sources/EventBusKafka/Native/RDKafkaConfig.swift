import CKafka
import EventBus

/// Builds an `rd_kafka_conf_t` from properties; ownership passes to `rd_kafka_new`.
enum RDKafkaConfig {
    /// A new configuration object; throws `invalidConfiguration` naming the rejected property.
    static func make(_ properties: [String: String]) throws(EventBusError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var errorText = [CChar](repeating: 0, count: 512)
        for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, name, value, &errorText, errorText.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw EventBusError(
                    .invalidConfiguration,
                    "librdkafka rejected '\(name)=\(value)': \(RDKafkaConfig.text(errorText))",
                    field: name)
            }
        }
        return conf
    }

    /// Text of a NUL-terminated error buffer.
    static func text(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// The librdkafka version the process loaded at run time (not the headers it was built with).
    static var runtimeVersion: String { String(cString: rd_kafka_version_str()) }
}
