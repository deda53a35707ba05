/// The version of OnlineCF (`onlinecf --version`). The public interfaces carry their own
/// versions: the event format and CLI (1), the key schema (``KeySchema/version``) and the
/// job-file format (1).
public enum OnlineCFCoreVersion {
    public static let string = "0.1.0"
}
