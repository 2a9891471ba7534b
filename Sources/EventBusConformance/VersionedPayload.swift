import EventBus

/// The payload of the membership scenarios: `key/version` in UTF-8, so every handler call can be
/// recorded in a ``HandlingLedger`` by the member that made it, in this process or another.
public enum VersionedPayload {
    /// The bytes for `version` of `key`.
    public static func make(key: String, version: Int) -> [UInt8] {
        Array("\(key)/\(version)".utf8)
    }

    /// The key and version a message carries; version -1 (and the message's key) when the payload
    /// is not `key/version`, which a ledger reports as never matching a published version.
    public static func parse(_ message: ReceivedMessage) -> (key: String, version: Int) {
        let text = String(decoding: message.payload, as: UTF8.self)
        guard let slash = text.lastIndex(of: "/"), let version = Int(text[text.index(after: slash)...]) else {
            return (message.key ?? "", -1)
        }
        return (String(text[..<slash]), version)
    }
}
