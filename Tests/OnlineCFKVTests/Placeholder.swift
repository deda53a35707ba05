import Testing
@Test func placeholderKV() { #expect(true) }
