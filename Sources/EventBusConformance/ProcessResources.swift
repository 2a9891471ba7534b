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
            threads: entryNames(in: "/proc/self/task")?.count,
            fileDescriptors: entryNames(in: "/proc/self/fd").map { $0.count - 1 },  // the directory read itself
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
        guard let tids = entryNames(in: "/proc/self/task") else { return nil }
        var counts: [String: Int] = [:]
        for tid in tids {
            let name = head(of: "/proc/self/task/\(tid)/comm", limit: 64).map { line in
                String(decoding: line.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
            }
            counts[name ?? "?", default: 0] += 1
        }
        return counts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ")
    }

    /// The names in a directory, without `.` and `..`; nil when it cannot be opened.
    private static func entryNames(in path: String) -> [String]? {
        guard let directory = opendir(path) else { return nil }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { name in
                String(decoding: name.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.first != "." { names.append(name) }
        }
        return names
    }

    /// Up to `limit` bytes from the start of a small file (`/proc` files are read in one call); nil
    /// when it cannot be read.
    private static func head(of path: String, limit: Int) -> ArraySlice<UInt8>? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: limit)
        let length = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard length > 0 else { return nil }
        return buffer[..<length]
    }

    private static func residentBytes() -> Int? {
        guard let statm = head(of: "/proc/self/statm", limit: 128) else { return nil }
        let fields = statm.split(separator: UInt8(ascii: " "))
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
