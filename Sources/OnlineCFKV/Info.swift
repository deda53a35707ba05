import CHiredis

/// Build information about the KV adapter. Values are compile-time constants.
public enum OnlineCFKVInfo {
    /// Version of the hiredis headers this module was compiled against, e.g. `0.14.1`.
    public static var hiredisVersion: String { "\(HIREDIS_MAJOR).\(HIREDIS_MINOR).\(HIREDIS_PATCH)" }
}
