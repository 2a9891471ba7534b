extension NATSConfiguration {
    /// How the connection proves who it is.
    public enum Credentials: Sendable, Equatable {
        /// No authentication.
        case none
        /// A user name and password.
        case userPassword(user: String, password: String)
        /// A shared token.
        case token(String)
    }
}
