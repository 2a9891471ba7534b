extension ConformanceFeatures {
    /// Resources a bus may keep after shutdown without counting as a leak.
    public struct ResourceSlack: Sendable {
        /// Threads above the count before the bus was built. Default 0.
        public var threads: Int
        /// File descriptors above the count before the bus was built. Default 0.
        public var fileDescriptors: Int

        /// Creates a tolerance; the default tolerates nothing.
        public init(threads: Int = 0, fileDescriptors: Int = 0) {
            self.threads = threads
            self.fileDescriptors = fileDescriptors
        }
    }
}
