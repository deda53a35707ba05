/// CRC-64/Jones as Redis computes it for DUMP/RESTORE payloads: reflected polynomial
/// 0xad93d23594c935a9, initial value 0, no final xor (check value of "123456789":
/// 0xe9c6d914c4b8d9ca).
enum CRC64 {
    private static let table: [UInt64] = (0..<256).map { n -> UInt64 in
        var crc = UInt64(n)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x95AC_9329_AC4B_C9B5 : crc >> 1 }
        return crc
    }

    static func checksum<C: Collection>(_ bytes: C, initial: UInt64 = 0) -> UInt64 where C.Element == UInt8 {
        var crc = initial
        for b in bytes { crc = table[Int((crc ^ UInt64(b)) & 0xFF)] ^ (crc >> 8) }
        return crc
    }
}
