import Testing
@testable import Store

@Suite struct LineDiffTests {
    func render(_ lines: [LineDiff.Line]) -> [String] { lines.map { $0.op.rawValue + $0.text } }

    @Test func keepsCommonLinesAndMarksChanges() {
        let d = LineDiff.diff("a\nb\nc\nd", "a\nx\nc\nd\ne")
        #expect(render(d) == [" a", "-b", "+x", " c", " d", "+e"])
    }

    @Test func emptySides() {
        #expect(render(LineDiff.diff("", "a\nb")) == ["+a", "+b"])
        #expect(render(LineDiff.diff("a", "")) == ["-a"])
        #expect(LineDiff.diff("", "").isEmpty)
    }

    @Test func identicalTextHasNoChange() {
        #expect(LineDiff.diff("x\ny", "x\ny").allSatisfy { $0.op == .same })
    }

    @Test func diffOfVersionsUsesRoleLines() {
        let a = PromptTests.draft("Be kind.", "Hi"), b = PromptTests.draft("Be kind.", "Hello")
        let va = PromptVersion(name: "g", version: 1, created: .now, draft: a)
        let vb = PromptVersion(name: "g", version: 2, created: .now, draft: b)
        #expect(render(LineDiff.diff(va.text, vb.text)) == [" system: Be kind.", "-user: Hi", "+user: Hello"])
    }
}
