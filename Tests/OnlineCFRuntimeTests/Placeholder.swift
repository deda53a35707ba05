import Testing
@Test func placeholderRuntime() { #expect(true) }
