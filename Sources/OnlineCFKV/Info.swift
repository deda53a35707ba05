import CHiredis
public enum OnlineCFKVInfo { public static var hiredisVersion: String { "\(HIREDIS_MAJOR).\(HIREDIS_MINOR).\(HIREDIS_PATCH)" } }
