#if canImport(Glibc)
    import Glibc
#endif

/// What the process holds: memory, threads and file descriptors, read from `/proc/self`.
public struct ProcessResources: Sendable, Codable, Equatable {
    /// Resident set size in bytes.
    public var residentBytes: Int
    /// Peak resident set size since the last ``resetPeak()``, in bytes.
    public var peakResidentBytes: Int
    /// Threads of the process.
    public var threads: Int
    /// Open file descriptors.
    public var fileDescriptors: Int

    /// Reads the current figures, first returning freed heap memory to the system so RSS says what
    /// is in use rather than what the allocator keeps cached.
    public static func current() -> ProcessResources {
        releaseFreedHeapMemory()
        let status = readFile("/proc/self/status")
        return ProcessResources(
            residentBytes: kilobytes(in: status, field: "VmRSS:") * 1024,
            peakResidentBytes: kilobytes(in: status, field: "VmHWM:") * 1024,
            threads: countEntries("/proc/self/task"),
            fileDescriptors: countEntries("/proc/self/fd") - 1
        )
    }

    /// Calls glibc's `malloc_trim(0)`, looked up at run time because `<malloc.h>` is not part of the
    /// Glibc module; without it RSS keeps memory the allocator caches after the bus freed it.
    private static func releaseFreedHeapMemory() {
        #if canImport(Glibc)
            typealias MallocTrim = @convention(c) (Int) -> Int32
            guard let symbol = dlsym(nil, "malloc_trim") else { return }
            _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
        #endif
    }

    /// Starts a new peak measurement (Linux `clear_refs` 5 resets VmHWM to the current RSS).
    public static func resetPeak() {
        let descriptor = open("/proc/self/clear_refs", O_WRONLY)
        guard descriptor >= 0 else { return }
        _ = "5".withCString { write(descriptor, $0, 1) }
        close(descriptor)
    }

    private static func readFile(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func kilobytes(in status: String, field: String) -> Int {
        for line in status.split(separator: "\n") where line.hasPrefix(field) {
            let digits = line.dropFirst(field.count).filter(\.isNumber)
            return Int(digits) ?? 0
        }
        return 0
    }

    /// Entries of a directory, not counting `.` and `..`; the directory stream's own descriptor
    /// shows up in `/proc/self/fd` and is subtracted by the caller.
    private static func countEntries(_ path: String) -> Int {
        guard let directory = opendir(path) else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDot { count += 1 }
        }
        return count
    }
}
