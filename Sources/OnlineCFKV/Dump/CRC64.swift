/// CRC-64/Jones as Redis computes it for DUMP/RESTORE payloads: reflected polynomial
/// 0xad93d23594c935a9, initial value 0, no final xor (check value of "123456789":
/// 0xe9c6d914c4b8d9ca). Eight bytes a step (slicing-by-8), then byte by byte.
enum CRC64 {
    /// `tables[t][n]`: the CRC of byte `n` followed by `t` zero bytes.
    private static let tables: [UInt64] = {
        var t = [UInt64](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var crc = UInt64(n)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x95AC_9329_AC4B_C9B5 : crc >> 1 }
            t[n] = crc
        }
        for k in 1..<8 {
            for n in 0..<256 { t[k * 256 + n] = t[(k - 1) * 256 + n] >> 8 ^ t[Int(t[(k - 1) * 256 + n] & 0xFF)] }
        }
        return t
    }()

    static func checksum(_ bytes: [UInt8], initial: UInt64 = 0) -> UInt64 {
        tables.withUnsafeBufferPointer { t in
            bytes.withUnsafeBufferPointer { bytes in
                var crc = initial
                var i = 0
                let n = bytes.count
                while i + 8 <= n {
                    var word: UInt64 = 0
                    for b in 0..<8 { word |= UInt64(bytes[i + b]) << (8 * UInt64(b)) }
                    let x = crc ^ word
                    crc = t[7 * 256 + Int(x & 0xFF)] ^ t[6 * 256 + Int((x >> 8) & 0xFF)]
                        ^ t[5 * 256 + Int((x >> 16) & 0xFF)] ^ t[4 * 256 + Int((x >> 24) & 0xFF)]
                        ^ t[3 * 256 + Int((x >> 32) & 0xFF)] ^ t[2 * 256 + Int((x >> 40) & 0xFF)]
                        ^ t[1 * 256 + Int((x >> 48) & 0xFF)] ^ t[Int(x >> 56)]
                    i += 8
                }
                while i < n {
                    crc = t[Int((crc ^ UInt64(bytes[i])) & 0xFF)] ^ (crc >> 8)
                    i += 1
                }
                return crc
            }
        }
    }
}
