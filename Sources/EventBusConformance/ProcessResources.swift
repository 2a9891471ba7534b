#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's threads, open descriptors and resident memory, read from `/proc/self`.
///
/// Counts only make sense on Linux; elsewhere they are nil and the scenarios that need them say so.
public struct ProcessResources: Sendable, Equatable, CustomStringConvertible {
    /// Threads of the process.
    public var threads: Int?
    /// Open file descriptors.
    public var fileDescriptors: Int?
    /// Resident set size in bytes.
    public var residentBytes: Int?

    /// Reads the current figures.
    public static func current() -> ProcessResources {
        ProcessResources(
            threads: entries(in: "/proc/self/task"),
            fileDescriptors: entries(in: "/proc/self/fd").map { $0 - 1 },  // the directory read itself
            residentBytes: residentBytes()
        )
    }

    /// The figures on one line, for failure messages and test logs.
    public var description: String {
        let mib = residentBytes.map { String(format3($0)) } ?? "?"
        return
            "threads \(threads.map(String.init) ?? "?"), fds \(fileDescriptors.map(String.init) ?? "?"), rss \(mib) MiB"
    }

    /// The process's threads by name (`/proc/self/task/<tid>/comm`), with how many carry each name,
    /// as `name×count` sorted by name; nil where `/proc` is missing. For failure messages: a thread
    /// left behind is easier to trace by its name (a thread that never named itself carries the name
    /// of the thread that started it, often a `…-qos` worker of Swift's global executor).
    public static func threadNames() -> String? {
        guard let directory = opendir("/proc/self/task") else { return nil }
        defer { closedir(directory) }
        var counts: [String: Int] = [:]
        while let entry = readdir(directory) {
            let tid = withUnsafeBytes(of: entry.pointee.d_name) { name in
                String(decoding: name.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard tid.first != "." else { continue }
            counts[readLine(at: "/proc/self/task/\(tid)/comm") ?? "?", default: 0] += 1
        }
        return counts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ")
    }

    /// The first line of a small file, without its newline; nil when it cannot be read.
    private static func readLine(at path: String) -> String? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let length = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard length > 0 else { return nil }
        return String(decoding: buffer[..<length].prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    }

    private static func entries(in path: String) -> Int? {
        guard let directory = opendir(path) else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".")
            }
            if !isDot { count += 1 }
        }
        return count
    }

    private static func residentBytes() -> Int? {
        let descriptor = open("/proc/self/statm", O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let length = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard length > 0 else { return nil }
        let fields = buffer[..<length].split(separator: UInt8(ascii: " "))
        guard fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else {
            return nil
        }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

private func format3(_ bytes: Int) -> String {
    let tenths = bytes * 10 / (1 << 20)
    return "\(tenths / 10).\(tenths % 10)"
}
