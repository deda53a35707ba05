import Foundation
import Testing
@testable import OnlineCFCore

private func decodeOne(_ line: String, _ format: EventFormat = .jsonl, columns: [EventField]? = nil) -> DecodedLine {
    var decoder = try! EventDecoder(format: format, columns: columns)
    return decoder.decode(Array(line.utf8), lineNumber: 1)
}

private func event(_ line: String, _ format: EventFormat = .jsonl) -> Event? {
    if case .event(let e) = decodeOne(line, format) { return e }
    return nil
}

private func reason(_ line: String, _ format: EventFormat = .jsonl) -> String? {
    if case .malformed(let r) = decodeOne(line, format) { return r }
    return nil
}

private func reason(bytes: [UInt8], _ format: EventFormat = .jsonl) -> String? {
    var decoder = try! EventDecoder(format: format)
    if case .malformed(let r) = decoder.decode(bytes, lineNumber: 1) { return r }
    return nil
}

/// All decoder tests live under `EventDecoderTests` so `--filter EventDecoderTests` runs them.
@Suite enum EventDecoderTests {}

extension EventDecoderTests {
    @Suite struct JSONL {
        @Test func fullEvent() {
            let e = event(#"{"user":"u1","item":"i2","author":"a3","action":"click","ts":1700000000123}"#)
            #expect(e == Event(user: "u1", item: "i2", author: "a3", action: "click", timestampMillis: 1_700_000_000_123))
        }

        @Test func optionalFieldsAndWhitespace() {
            #expect(event(#"  { "user" : "u" , "item" : "i" }  "#) == Event(user: "u", item: "i"))
            #expect(event(#"{"item":"i","user":"u","author":null,"action":"","ts":null}"#) == Event(user: "u", item: "i"))
            #expect(event("{\"user\":\"u\",\"item\":\"i\"}\r") == Event(user: "u", item: "i"))
        }

        @Test func numbersAsIds() {
            #expect(event(#"{"user":42,"item":"42"}"#) == Event(user: "42", item: "42"))
            #expect(event(#"{"user":4.20,"item":-1e5,"author":0}"#) == Event(user: "4.20", item: "-1e5", author: "0"))
        }

        @Test func idsWithSpecialCharacters() {
            let e = event(#"{"user":"a b\tc","item":"q\"uo\\te/\/","author":"🎉 naïve 日本","action":"\u00e9\ud83d\ude00"}"#)
            #expect(e?.user == "a b\tc")
            #expect(e?.item == "q\"uo\\te//")
            #expect(e?.author == "🎉 naïve 日本")
            #expect(e?.action == "é😀")
            #expect(event(#"{"user":"\n\r\b\f","item":"\u0041"}"#)?.user == "\n\r\u{8}\u{C}")
        }

        @Test func unknownFieldsAreSkipped() {
            let line = #"{"x":{"a":[1,2,{"b":null}],"c":"}"},"user":"u","y":[true,false,-0.5e-3,"]"],"item":"i","z":{}}"#
            #expect(event(line) == Event(user: "u", item: "i"))
            #expect(event(#"{"user":"u","item":"i","\u0074s":5}"#)?.timestampMillis == 5000)  // escaped key
        }

        @Test func duplicateKeysLastWins() {
            #expect(event(#"{"user":"a","item":"i","user":"b"}"#)?.user == "b")
            #expect(event(#"{"user":"u","item":"i","ts":1,"ts":null}"#)?.timestampMillis == nil)
        }

        @Test func timestamps() {
            func ts(_ raw: String) -> Int64? { event(#"{"user":"u","item":"i","ts":\#(raw)}"#)?.timestampMillis }
            #expect(ts("881250949") == 881_250_949_000)
            #expect(ts("1700000000123") == 1_700_000_000_123)
            #expect(ts("99999999999") == 99_999_999_999_000)  // just under 1e11: seconds
            #expect(ts("100000000000") == 100_000_000_000)  // 1e11: milliseconds
            #expect(ts("8.8125e8") == 881_250_000_000)
            #expect(ts("1.7e12") == 1_700_000_000_000)
            #expect(ts("1.5") == 1500)
            #expect(ts("0.0004") == 0)
            #expect(ts("0.0005") == 1)
            #expect(ts("1700000000123.5") == 1_700_000_000_124)
            #expect(ts("-5") == -5000)
            #expect(ts("-1.0005") == -1001)
            #expect(ts("0") == 0)
            #expect(ts("1E2") == 100_000)
            #expect(ts(#""881250949""#) == 881_250_949_000)
            #expect(ts(#""8.8125e8""#) == 881_250_000_000)
            #expect(ts(#""+12""#) == 12000)
            #expect(ts("9223372036854775807") == Int64.max)
        }

        @Test func malformedJSON() {
            #expect(reason(#"{"user" "u","item":"i"}"#) == "invalid JSON at byte 9: expected ':'")
            #expect(reason(#"{"user":"u","item":"i""#) == "invalid JSON: unexpected end of line, expected ',' or '}'")
            #expect(reason(#"{"user":"u" "item":"i"}"#) == "invalid JSON at byte 13: expected ',' or '}'")
            #expect(reason(#"{user:"u"}"#) == "invalid JSON at byte 2: expected '\"' to start a key")
            #expect(reason(#"{"user":"u,"item":"i"}"#)?.hasPrefix("invalid JSON") == true)
            #expect(reason(#"{"user":"u\x","item":"i"}"#) == "invalid JSON at byte 11: invalid escape")
            #expect(reason(#"{"user":"\ud83d","item":"i"}"#) == "invalid JSON at byte 10: lone surrogate in \\u escape")
            #expect(reason(#"{"user":"\u12","item":"i"}"#) == "invalid JSON at byte 10: invalid \\u escape")
            #expect(reason("{\"user\":\"a\tb\",\"item\":\"i\"}") == "invalid JSON at byte 11: control character in string")
            #expect(reason(#"{"user":01,"item":"i"}"#) == "invalid JSON at byte 10: expected ',' or '}'")
            #expect(reason(#"{"user":-,"item":"i"}"#) == "invalid JSON at byte 9: invalid number")
            #expect(reason(#"{"user":tru,"item":"i"}"#) == "invalid JSON at byte 9: expected a value")
            #expect(reason(#"{"x":[1,2}"#) == "invalid JSON at byte 10: expected ',' or ']'")
            let deep = "{\"x\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"
            #expect(reason(deep)?.contains("nesting deeper than 64") == true)
        }

        @Test func notAnObject() {
            #expect(reason(#"["u","i"]"#) == "expected a JSON object")
            #expect(reason("42") == "expected a JSON object")
            #expect(reason("user\titem") == "expected a JSON object")
        }

        @Test func trailingGarbage() {
            #expect(reason(#"{"user":"u","item":"i"} x"#) == "unexpected data after the JSON object at byte 25")
            #expect(reason(#"{"user":"u","item":"i"}{}"#) == "unexpected data after the JSON object at byte 24")
        }

        @Test func missingAndEmptyIds() {
            #expect(reason(#"{"user":"u"}"#) == #"missing "item""#)
            #expect(reason(#"{"item":"i"}"#) == #"missing "user""#)
            #expect(reason(#"{"user":null,"item":"i"}"#) == #"missing "user""#)
            #expect(reason("{}") == #"missing "user""#)
            #expect(reason(#"{"user":"","item":"i"}"#) == #""user" is empty"#)
            #expect(reason(#"{"user":"u","item":""}"#) == #""item" is empty"#)
            #expect(reason(#"{"user":true,"item":"i"}"#) == #""user" must be a string or a number, not true"#)
            #expect(reason(#"{"user":"u","item":{"id":1}}"#) == #""item" must be a string or a number, not an object"#)
            #expect(reason(#"{"user":"u","item":"i","author":[1]}"#) == #""author" must be a string or a number, not an array"#)
        }

        @Test func idLengthLimit() {
            let ok = String(repeating: "x", count: 512)
            #expect(event(#"{"user":"\#(ok)","item":"i"}"#)?.user == ok)
            let long = String(repeating: "x", count: 600)
            #expect(reason(#"{"user":"u","item":"\#(long)"}"#) == #""item" is 600 bytes; ids are at most 512"#)
            // Escapes count after decoding: 300 × "é" = 600 bytes.
            let escaped = String(repeating: "\\u00e9", count: 300)
            #expect(reason(#"{"user":"\#(escaped)","item":"i"}"#) == #""user" is 600 bytes; ids are at most 512"#)
            let emoji = String(repeating: "😀", count: 128)  // 512 bytes
            #expect(event(#"{"user":"\#(emoji)","item":"i"}"#)?.user == emoji)
        }

        @Test func badTimestamps() {
            func r(_ raw: String) -> String? { reason(#"{"user":"u","item":"i","ts":\#(raw)}"#) }
            #expect(r(#""yesterday""#) == #""ts" is not a number: "yesterday""#)
            #expect(r(#""NaN""#) == #""ts" is not a number: "NaN""#)
            #expect(r(#""inf""#) == #""ts" is not a number: "inf""#)
            #expect(r(#""""#) == #""ts" is not a number: """#)
            #expect(r(#""1e""#) == #""ts" is not a number: "1e""#)
            #expect(r("1e300") == #""ts" is out of range: "1e300""#)
            #expect(r("9223372036854775808") == #""ts" is out of range: "9223372036854775808""#)
            #expect(r("true") == #""ts" must be a number or a numeric string, not true"#)
        }

        @Test func invalidUTF8() {
            var bytes = Array(#"{"user":"u","item":"#.utf8)
            bytes += [0x22, 0xC3, 0x28, 0x22, 0x7D]  // "\xC3(" }
            #expect(reason(bytes: bytes) == "invalid UTF-8 at byte 21")
            #expect(reason(bytes: [0xFF]) == "invalid UTF-8 at byte 1")
            #expect(reason(bytes: Array("{\"user\":\"".utf8) + [0xED, 0xA0, 0x80]) == "invalid UTF-8 at byte 10")  // surrogate
            #expect(reason(bytes: Array("{\"user\":\"".utf8) + [0xC0, 0xAF]) == "invalid UTF-8 at byte 10")  // overlong
            #expect(reason(bytes: Array("{\"user\":\"".utf8) + [0xF0, 0x9F, 0x98]) == "invalid UTF-8 at byte 10")  // truncated
            #expect(reason(bytes: [0x75, 0x09, 0x69, 0x09, 0xF4, 0x90, 0x80, 0x80], .tsv) == "invalid UTF-8 at byte 5")
        }

        @Test func overlongLine() {
            let line = [UInt8](repeating: 0x20, count: EventDecoder.maxLineBytes + 1)
            #expect(reason(bytes: line) == "line is 1048577 bytes; the limit is 1048576")
            // Exactly at the limit is parsed.
            var ok = Array(#"{"user":"u","item":"i"}"#.utf8)
            ok += [UInt8](repeating: 0x20, count: EventDecoder.maxLineBytes - ok.count)
            var decoder = try! EventDecoder(format: .jsonl)
            #expect(decoder.decode(ok, lineNumber: 1) == .event(Event(user: "u", item: "i")))
        }

        @Test func blankLines() {
            #expect(decodeOne("") == .skip)
            #expect(decodeOne("   \t ") == .skip)
            #expect(decodeOne("\r") == .skip)
            #expect(decodeOne("", .tsv) == .skip)
            #expect(decodeOne(" \t\r", .inter) == .skip)
        }
    }
}

extension EventDecoderTests {
    @Suite struct TSV {
        @Test func defaultColumns() {
            #expect(event("u1\ti2\ta3\tlike\t1700000000123", .tsv)
                == Event(user: "u1", item: "i2", author: "a3", action: "like", timestampMillis: 1_700_000_000_123))
            #expect(event("u 1\ti 2", .tsv) == Event(user: "u 1", item: "i 2"))
            #expect(event("u\ti\t\t\t881250949\r", .tsv) == Event(user: "u", item: "i", timestampMillis: 881_250_949_000))
            #expect(event("u\ti\ta\tx\t5\textra\tmore", .tsv)?.timestampMillis == 5000)
            #expect(event("u\ti\ta\tx\t 5 ", .tsv)?.timestampMillis == 5000)
            #expect(event("😀\t日本", .tsv) == Event(user: "😀", item: "日本"))
        }

        @Test func headerSkippedOnlyOnFirstLine() {
            var decoder = try! EventDecoder(format: .tsv)
            #expect(decoder.decode(Array("user\titem\tauthor\taction\tts".utf8), lineNumber: 1) == .skip)
            #expect(decoder.decode(Array("user\titem".utf8), lineNumber: 2) == .event(Event(user: "user", item: "item")))
            var short = try! EventDecoder(format: .tsv)
            #expect(short.decode(Array("user\titem".utf8), lineNumber: 1) == .skip)
        }

        @Test func customColumns() throws {
            var decoder = try EventDecoder(format: .tsv, columns: [.ts, .ignore, .item, .user])
            #expect(decoder.decode(Array("ts\twhatever\titem\tuser".utf8), lineNumber: 1) == .skip)
            #expect(decoder.decode(Array("12\tjunk\tI\tU".utf8), lineNumber: 2)
                == .event(Event(user: "U", item: "I", timestampMillis: 12000)))
        }

        @Test func malformed() {
            #expect(reason("u1", .tsv) == #"missing "item": the line has no column 2"#)
            #expect(reason("\ti", .tsv) == #"missing "user": column 1 is empty"#)
            #expect(reason("u\t\ta", .tsv) == #"missing "item": column 2 is empty"#)
            #expect(reason("u\ti\ta\tx\tyesterday", .tsv) == #""ts" is not a number: "yesterday""#)
            #expect(reason("u\t" + String(repeating: "é", count: 300), .tsv) == #""item" is 600 bytes; ids are at most 512"#)
        }

        @Test func badColumnMaps() {
            #expect(throws: EventDecoderError.self) { try EventDecoder(format: .tsv, columns: [.user]) }
            #expect(throws: EventDecoderError.self) { try EventDecoder(format: .tsv, columns: [.item, .ts]) }
            #expect(throws: EventDecoderError.self) { try EventDecoder(format: .tsv, columns: [.user, .item, .user]) }
            #expect(throws: EventDecoderError.self) { try EventDecoder(format: .jsonl, columns: [.user, .item]) }
            do {
                _ = try EventDecoder(format: .tsv, columns: [.user, .ts])
                Issue.record("expected an error")
            } catch {
                #expect(error.description == "the column map has no item column")
            }
        }
    }
}

extension EventDecoderTests {
    @Suite struct Inter {
        @Test func ml100kHeaderAndRows() {
            var decoder = try! EventDecoder(format: .inter)
            #expect(decoder.decode(Array("user_id:token\titem_id:token\trating:float\ttimestamp:float".utf8), lineNumber: 1) == .skip)
            #expect(decoder.columns == [.user, .item, .ignore, .ts])
            #expect(decoder.decode(Array("196\t242\t3\t881250949".utf8), lineNumber: 2)
                == .event(Event(user: "196", item: "242", timestampMillis: 881_250_949_000)))
            #expect(decoder.decode(Array("186\t302\t3\t891717742".utf8), lineNumber: 3)
                == .event(Event(user: "186", item: "302", timestampMillis: 891_717_742_000)))
            #expect(decoder.decode(Array("22\t377\t1\t878887116.0".utf8), lineNumber: 4)
                == .event(Event(user: "22", item: "377", timestampMillis: 878_887_116_000)))
            #expect(decoder.decode(Array("22\t\t1\t878887116".utf8), lineNumber: 5)
                == .malformed(reason: #"missing "item": column 2 is empty"#))
        }

        @Test func aliasesAndOrder() {
            var decoder = try! EventDecoder(format: .inter)
            let header = "Time:float\tbehavior:token\tcreator_id:token\titem:token\tuser:token\tuser_id:token"
            #expect(decoder.decode(Array(header.utf8), lineNumber: 1) == .skip)
            #expect(decoder.columns == [.ts, .action, .author, .item, .user, .ignore])
            #expect(decoder.decode(Array("5\tlike\tA\tI\tU\tV".utf8), lineNumber: 2)
                == .event(Event(user: "U", item: "I", author: "A", action: "like", timestampMillis: 5000)))
        }

        @Test func missingHeader() {
            var decoder = try! EventDecoder(format: .inter)
            guard case .malformed(let r) = decoder.decode(Array("196\t242\t3\t881250949".utf8), lineNumber: 1) else {
                Issue.record("expected malformed")
                return
            }
            #expect(r.contains("missing .inter header"))
            #expect(r.contains("user_id:token"))
            #expect(decoder.headerProblem != nil)
            guard case .malformed(let later) = decoder.decode(Array("1\t2\t3\t4".utf8), lineNumber: 2) else {
                Issue.record("expected malformed")
                return
            }
            #expect(later.hasPrefix("no usable .inter header"))
        }

        @Test func headerWithoutItem() {
            var decoder = try! EventDecoder(format: .inter)
            let result = decoder.decode(Array("user_id:token\trating:float".utf8), lineNumber: 1)
            guard case .malformed(let r) = result else { Issue.record("expected malformed"); return }
            #expect(r.hasPrefix(".inter header has no item column (expected item_id or item)"))
        }

        @Test func columnsOverrideHeader() throws {
            var decoder = try EventDecoder(format: .inter, columns: [.item, .user])
            #expect(decoder.decode(Array("user_id:token\titem_id:token".utf8), lineNumber: 1) == .skip)
            #expect(decoder.decode(Array("a\tb".utf8), lineNumber: 2) == .event(Event(user: "b", item: "a")))
            var noHeader = try EventDecoder(format: .inter, columns: [.user, .item])
            #expect(noHeader.decode(Array("a\tb".utf8), lineNumber: 1) == .event(Event(user: "a", item: "b")))
        }
    }
}

// MARK: - The real ml-100k file

private let ml100kPath: String = {
    // Tests/OnlineCFCoreTests/EventDecoderTests.swift -> package root -> ../shared/data
    let file = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    let root = file.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent("../shared/data/ml-100k.inter").standardized.path
}()

extension EventDecoderTests {
    @Test(
        "decodes all of ml-100k.inter (skipped when ../shared/data/ml-100k.inter is absent)",
        .enabled(if: FileManager.default.fileExists(atPath: ml100kPath), "ml-100k.inter not found at \(ml100kPath)"))
    static func decodesWholeML100K() throws {
        let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: ml100kPath)))
        var decoder = try EventDecoder(format: .inter)
        var users = Set<String>()
        var items = Set<String>()
        var events = 0
        var skipped = 0
        var lineNumber = 0
        var minTs = Int64.max
        data.withUnsafeBufferPointer { all in
            var start = 0
            for k in 0...all.count where k == all.count || all[k] == 0x0A {
                if k == all.count && start == k { break }
                lineNumber += 1
                let line = UnsafeBufferPointer(rebasing: all[start..<k])
                start = k + 1
                switch decoder.decode(line, lineNumber: lineNumber) {
                case .event(let e):
                    events += 1
                    users.insert(e.user)
                    items.insert(e.item)
                    minTs = min(minTs, e.timestampMillis ?? .max)
                case .skip: skipped += 1
                case .malformed(let r): Issue.record("line \(lineNumber): \(r)")
                }
            }
        }
        #expect(skipped == 1)
        #expect(events == 100_000)
        #expect(users.count == 943)
        #expect(items.count == 1_682)
        #expect(minTs > 800_000_000_000)  // seconds converted to ms
    }
}
