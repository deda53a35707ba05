/// How ids are written in TSV output (`export`, `i2i`, …): backslash, tab, newline and
/// carriage return become `\\`, `\t`, `\n`, `\r`; every other byte is written as is.
/// So every output line has exactly its tab-separated fields, and `unescape` restores
/// the id. Ids without those four characters (the usual case) print unchanged.
public enum TSVEscaping {
    public static func escape(_ id: String) -> String {
        guard id.utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else { return id }
        var out = ""
        for ch in id.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    public static func unescape(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var out = ""
        var escaping = false
        for ch in field.unicodeScalars {
            if escaping {
                switch ch {
                case "t": out += "\t"
                case "n": out += "\n"
                case "r": out += "\r"
                default: out.unicodeScalars.append(ch)
                }
                escaping = false
            } else if ch == "\\" {
                escaping = true
            } else {
                out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}
