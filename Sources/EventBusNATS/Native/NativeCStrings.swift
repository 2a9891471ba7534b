#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// C copies of Swift strings that stay alive as long as this object, for nats.c structs that
/// borrow `const char *` fields until the call that reads them returns.
final class NativeCStrings {
    private(set) var pointers: [UnsafePointer<CChar>?] = []

    init(_ strings: [String] = []) {
        for string in strings { _ = add(string) }
    }

    /// Copies `string` and returns the copy's address.
    func add(_ string: String) -> UnsafePointer<CChar>? {
        let copy = UnsafePointer(strdup(string))
        pointers.append(copy)
        return copy
    }

    /// Runs `body` with a C array of the copies.
    func withArray<Result>(_ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>, Int32) throws -> Result) rethrows
        -> Result
    {
        var array = pointers
        return try array.withUnsafeMutableBufferPointer { buffer in
            try body(buffer.baseAddress!, Int32(buffer.count))
        }
    }

    deinit {
        for pointer in pointers { free(UnsafeMutablePointer(mutating: pointer)) }
    }
}
