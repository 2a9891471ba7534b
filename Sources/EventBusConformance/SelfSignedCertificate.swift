import Foundation

/// A throwaway self-signed certificate and key (PEM, CN `localhost`, valid one day) in a temporary
/// folder, made with the `openssl` command line tool, for tests of TLS failures; the folder is removed
/// when the object goes.
public final class SelfSignedCertificate: Sendable {
    /// The folder holding `cert.pem` and `key.pem`.
    public let folder: URL
    /// The certificate, PEM.
    public var certificate: URL { folder.appendingPathComponent("cert.pem") }
    /// The unencrypted private key, PEM.
    public var key: URL { folder.appendingPathComponent("key.pem") }

    /// Makes the pair; throws ``ConformanceFailure`` when `openssl` is missing or fails.
    public init() throws {
        guard let openssl = Self.openssl else {
            throw ConformanceFailure(message: "no openssl in /usr/bin or /usr/local/bin")
        }
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("eventbus-tls-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openssl)
        process.arguments = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", folder.appendingPathComponent("key.pem").path,
            "-out", folder.appendingPathComponent("cert.pem").path, "-subj", "/CN=localhost", "-days", "1",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ConformanceFailure(message: "openssl req exited with \(process.terminationStatus)")
        }
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    /// The `openssl` executable, if installed.
    public static var openssl: String? {
        ["/usr/bin/openssl", "/usr/local/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
