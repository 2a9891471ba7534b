/// FNV-1a over a key's UTF-8 bytes: stable across processes and languages.
///
/// Swift's `Hasher` is seeded per process, so it would send one aggregate to different actors in
/// different runs and disagree with the Go implementation.
public enum KeyHash {
    /// The 32-bit FNV-1a hash of `key`'s UTF-8 bytes.
    @inlinable
    public static func fnv1a(_ key: String) -> UInt32 {
        var key = key
        return key.withUTF8 { bytes in
            var hash: UInt32 = 2_166_136_261
            for byte in bytes {
                hash ^= UInt32(byte)
                hash &*= 16_777_619
            }
            return hash
        }
    }
}
