import Foundation
import Testing
@testable import Store

@Suite struct AuditTests {
    static func record(_ model: String, key: Int64?, time: Double, request: String, status: Int = 200) -> AuditRecord {
        AuditRecord(requestID: UUID().uuidString, time: Date(timeIntervalSince1970: time), keyID: key, keyName: key.map { "k\($0)" },
                    method: "POST", endpoint: "/v1/chat/completions", model: model, status: status, promptTokens: 5,
                    completionTokens: 7, latencyMs: 12, ttftMs: 3, parameters: #"{"temperature":0}"#, request: request,
                    response: "fine")
    }

    @Test func appendsAndSearches() throws {
        let t = try TemporaryStore()
        let audit = t.store.audit
        try audit.append(Self.record("a", key: 1, time: 100, request: #"[{"role":"user","content":"hello world"}]"#))
        try audit.append(Self.record("b", key: 2, time: 200, request: #"[{"role":"user","content":"bye"}]"#))
        try audit.append(Self.record("a", key: nil, time: 300, request: #""plain prompt""#, status: 401))
        #expect(try audit.search(AuditQuery()).total == 3)
        #expect(try audit.search(AuditQuery()).records.map(\.time.timeIntervalSince1970) == [300, 200, 100])
        #expect(try audit.search(AuditQuery(model: "a")).total == 2)
        #expect(try audit.search(AuditQuery(key: "2")).records.map(\.model) == ["b"])
        #expect(try audit.search(AuditQuery(key: "k1")).records.map(\.model) == ["a"])
        #expect(try audit.search(AuditQuery(since: Date(timeIntervalSince1970: 150))).total == 2)
        #expect(try audit.search(AuditQuery(grep: "world")).total == 1)
        #expect(try audit.search(AuditQuery(status: 401)).total == 1)
        let page = try audit.search(AuditQuery(limit: 1, offset: 1))
        #expect(page.records.count == 1 && page.total == 3)
        let one = try #require(try audit.record(id: page.records[0].id))
        #expect(one.preview == "bye" && one.response == "fine" && one.ttftMs == 3)
    }

    @Test func previewsReadMessagesAndPrompts() {
        #expect(Self.record("a", key: nil, time: 0, request: #"[{"role":"system","content":"s"},{"role":"user","content":"q"}]"#).preview == "q")
        #expect(Self.record("a", key: nil, time: 0, request: #""text""#).preview == "text")
    }

    @Test func parsesSince() {
        #expect(AuditQuery.parseTime("1700000000") == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(AuditQuery.parseTime("2023-11-14T22:13:20Z") == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(AuditQuery.parseTime("2023-11-14") != nil)
        #expect(AuditQuery.parseTime("yesterday") == nil)
    }
}
