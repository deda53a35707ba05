public enum OnlineCFCoreVersion { public static let string = "0.1.0" }
