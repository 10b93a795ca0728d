import Foundation
import Testing
@testable import Store

@Suite struct EloTests {
    @Test func firstGameMovesSixteenPoints() {
        let r = EloLeaderboard.ratings([Vote(prompt: "p", left: "a", right: "b", winner: .left)])
        #expect(r.map(\.model) == ["a", "b"])
        #expect(r[0].elo == 1016 && r[1].elo == 984)
        #expect(r[0].wins == 1 && r[1].losses == 1)
    }

    @Test func tieBetweenEqualsChangesNothingAndUnequalsMoves() {
        let equal = EloLeaderboard.ratings([Vote(prompt: "p", left: "a", right: "b", winner: .tie)])
        #expect(equal.allSatisfy { $0.elo == 1000 && $0.ties == 1 })
        let r = EloLeaderboard.ratings([
            Vote(prompt: "p", left: "a", right: "b", winner: .left),
            Vote(prompt: "p", left: "a", right: "b", winner: .tie),
        ])
        let a = r.first { $0.model == "a" }!
        // After 1016 vs 984, a expected 0.546; a tie costs a 32 × 0.046 ≈ 1.47.
        #expect(abs(a.elo - 1014.53) < 0.01)
        #expect(a.games == 2)
    }

    @Test func votesPersistInOrder() throws {
        let t = try TemporaryStore()
        try t.store.votes.add(Vote(prompt: "p", left: "a", right: "b", winner: .right))
        try t.store.votes.add(Vote(prompt: "q", left: "b", right: "c", winner: .left))
        let votes = try t.store.votes.all()
        #expect(votes.map(\.winner) == [.right, .left])
        #expect(EloLeaderboard.ratings(votes).first?.model == "b")
    }
}
