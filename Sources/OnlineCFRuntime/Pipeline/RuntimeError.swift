/// An error of the runtime, with a message that says what happened and what to do, and a
/// code that says what kind of problem it is (for callers that act on it: a supervisor
/// that restarts on ``Code/leaseLost`` but not on ``Code/leaseHeld``, a test).
public struct RuntimeError: Error, Sendable, CustomStringConvertible {
    /// The kind of a runtime error. New codes may be added; match with a default.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// Anything not named below.
        public static let general = Code("general")
        /// Another live process holds the writer lease of this (namespace, worker).
        public static let leaseHeld = Code("lease-held")
        /// This process lost its writer lease (it lapsed and another process took it):
        /// it must not write again.
        public static let leaseLost = Code("lease-lost")
        /// The KV store's eviction policy could remove the namespace's state.
        public static let evictionPolicy = Code("eviction-policy")
    }

    public var code: Code
    public var message: String
    public init(_ message: String, code: Code = .general) {
        self.message = message
        self.code = code
    }
    public var description: String { message }
}
