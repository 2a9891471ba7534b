extension JSONScanner {
    /// Which containers (object or array) enclose the scanner's position, innermost last.
    ///
    /// One bit per level: the first 64 levels live in a word, so ordinary payloads never allocate.
    struct ContainerStack {
        private(set) var depth = 0
        private var inline: UInt64 = 0
        private var spill: [UInt64] = []

        /// Whether the innermost container is an object; `nil` when outside every container.
        var top: Bool? {
            guard depth > 0 else { return nil }
            return bit(depth - 1)
        }

        /// Throws unless one more container, opening at the scanner's offset, stays within
        /// ``JSONScanner/maximumDepth``.
        func requireRoom(scanner: JSONScanner, field: StaticString) throws(EventBusError) {
            guard depth < JSONScanner.maximumDepth else {
                throw scanner.error(field, "JSON nested deeper than \(JSONScanner.maximumDepth) levels")
            }
        }

        mutating func push(isObject: Bool, scanner: JSONScanner, field: StaticString) throws(EventBusError) {
            try requireRoom(scanner: scanner, field: field)
            let level = depth
            if level < 64 {
                if isObject { inline |= 1 << UInt64(level) } else { inline &= ~(1 << UInt64(level)) }
            } else {
                let word = (level - 64) / 64
                if spill.count <= word { spill.append(0) }
                let mask: UInt64 = 1 << UInt64((level - 64) % 64)
                if isObject { spill[word] |= mask } else { spill[word] &= ~mask }
            }
            depth += 1
        }

        mutating func pop() {
            if depth > 0 { depth -= 1 }
        }

        private func bit(_ level: Int) -> Bool {
            if level < 64 { return inline & (1 << UInt64(level)) != 0 }
            return spill[(level - 64) / 64] & (1 << UInt64((level - 64) % 64)) != 0
        }
    }
}
