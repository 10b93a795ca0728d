/// A line-by-line difference between two texts, from their longest common subsequence.
public enum LineDiff {
    public enum Op: String, Sendable {
        case same = " "
        case added = "+"
        case removed = "-"
    }

    public struct Line: Sendable, Equatable {
        public var op: Op
        public var text: String

        public init(_ op: Op, _ text: String) {
            self.op = op
            self.text = text
        }
    }

    /// The lines of `old` and `new` in order, each kept, removed or added; removals come before
    /// additions where both happen at one place.
    public static func diff(_ old: String, _ new: String) -> [Line] {
        let a = lines(old), b = lines(new)
        // lcs[i][j]: length of the longest common subsequence of a[i...] and b[j...].
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        var out: [Line] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                out.append(Line(.same, a[i]))
                i += 1
                j += 1
            } else if i < a.count, j == b.count || lcs[i + 1][j] >= lcs[i][j + 1] {
                out.append(Line(.removed, a[i]))
                i += 1
            } else {
                out.append(Line(.added, b[j]))
                j += 1
            }
        }
        return out
    }

    static func lines(_ text: String) -> [String] {
        text.isEmpty ? [] : text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }
}
