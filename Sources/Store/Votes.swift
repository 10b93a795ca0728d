import Foundation

/// A side-by-side comparison's verdict.
public struct Vote: Sendable, Equatable {
    public enum Winner: String, Sendable, CaseIterable {
        case left, right, tie
    }

    public var id: Int64
    public var time: Date
    /// The input both sides answered.
    public var prompt: String
    /// A model name or a `prompt:NAME@VER` reference.
    public var left: String
    public var right: String
    public var winner: Winner

    public init(id: Int64 = 0, time: Date = Date(), prompt: String, left: String, right: String, winner: Winner) {
        self.id = id
        self.time = time
        self.prompt = prompt
        self.left = left
        self.right = right
        self.winner = winner
    }
}

/// Votes as features use them.
public protocol VoteRepository: Sendable {
    @discardableResult func add(_ vote: Vote) throws(StoreError) -> Int64
    /// Every vote, in the order cast.
    func all() throws(StoreError) -> [Vote]
}

/// One contestant's standing.
public struct EloRating: Sendable, Equatable {
    public var model: String
    public var elo: Double
    public var wins = 0
    public var losses = 0
    public var ties = 0
    public var games: Int { wins + losses + ties }
}

/// Elo ratings replayed over the votes in order: everyone starts at 1000; after each game the
/// winner gains K × (1 − expected score) and the loser loses as much (a tie scores ½ each).
public enum EloLeaderboard {
    public static let start = 1000.0
    public static let k = 32.0

    /// Ratings, best first (ties broken by name).
    public static func ratings(_ votes: [Vote]) -> [EloRating] {
        var table: [String: EloRating] = [:]
        for v in votes where v.left != v.right {
            var a = table[v.left] ?? EloRating(model: v.left, elo: start)
            var b = table[v.right] ?? EloRating(model: v.right, elo: start)
            let expectedA = 1 / (1 + pow(10, (b.elo - a.elo) / 400))
            let scoreA: Double
            switch v.winner {
            case .left: scoreA = 1; a.wins += 1; b.losses += 1
            case .right: scoreA = 0; a.losses += 1; b.wins += 1
            case .tie: scoreA = 0.5; a.ties += 1; b.ties += 1
            }
            let delta = k * (scoreA - expectedA)
            a.elo += delta
            b.elo -= delta
            table[v.left] = a
            table[v.right] = b
        }
        return table.values.sorted { $0.elo != $1.elo ? $0.elo > $1.elo : $0.model < $1.model }
    }
}
