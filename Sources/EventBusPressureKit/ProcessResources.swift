#if canImport(Glibc)
    import Glibc
#endif

/// What the process holds: memory, threads and file descriptors, read from `/proc/self`.
public struct ProcessResources: Sendable, Codable, Equatable {
    /// Resident set size in bytes.
    public var residentBytes: Int
    /// Peak resident set size since the last ``resetPeak()``, in bytes.
    public var peakResidentBytes: Int
    /// Threads of the process, not counting the Swift runtime's worker pool.
    ///
    /// The cooperative pool's threads (libdispatch's `com.apple.root.*-qos*` workers) are started
    /// and retired by the runtime as load comes and goes, seconds after the work ended; they belong
    /// to no bus. Every other thread (librdkafka's `rdk:*`, nats.c's, a backend's poll thread)
    /// counts, so a backend that leaves one behind shows as a leak.
    public var threads: Int
    /// The Swift runtime's worker threads at the time of reading, reported apart.
    public var runtimeWorkerThreads: Int
    /// Open file descriptors.
    public var fileDescriptors: Int

    /// Reads the current figures, first returning freed heap memory to the system so RSS says what
    /// is in use rather than what the allocator keeps cached.
    public static func current() -> ProcessResources {
        releaseFreedHeapMemory()
        let status = readFile("/proc/self/status")
        let (allThreads, workers) = countThreads()
        return ProcessResources(
            residentBytes: kilobytes(in: status, field: "VmRSS:") * 1024,
            peakResidentBytes: kilobytes(in: status, field: "VmHWM:") * 1024,
            threads: allThreads - workers,
            runtimeWorkerThreads: workers,
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

    /// CPU time the whole process has used so far (user + system), in seconds.
    public static func cpuSeconds() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
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

    /// All threads, and those whose name marks them as libdispatch root-queue workers.
    private static func countThreads() -> (all: Int, runtimeWorkers: Int) {
        guard let directory = opendir("/proc/self/task") else { return (0, 0) }
        defer { closedir(directory) }
        var all = 0
        var workers = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name != ".", name != ".." else { continue }
            all += 1
            if readFile("/proc/self/task/\(name)/comm").contains("-qos") { workers += 1 }
        }
        return (all, workers)
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
