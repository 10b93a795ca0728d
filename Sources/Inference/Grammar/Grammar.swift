// A parsed grammar lowered to the flat form the matcher walks: every alternative of every rule
// is a run of elements in one array, ended by `.end`. Groups and repetitions become rules of
// their own (`x*` is `r ::= x r |`, `x{0,3}` is `r3 ::= x r2 |` …), so the matcher only ever
// sees character sets, rule references and ends.

/// One element of an alternative.
struct GrammarElement: Sendable, Equatable {
    enum Kind: UInt8, Sendable { case end, chars, reference }
    var kind: Kind
    /// The character set index for `.chars`, the rule index for `.reference`.
    var argument: Int32
}

/// A set of code points: sorted inclusive ranges, possibly negated, with an ASCII bitmap.
struct GrammarCharSet: Sendable, Hashable {
    var ranges: [ClosedRange<UInt32>]
    var negated: Bool
    private var asciiLow: UInt64 = 0
    private var asciiHigh: UInt64 = 0

    init(ranges: [ClosedRange<UInt32>], negated: Bool) {
        self.ranges = ranges.sorted { $0.lowerBound < $1.lowerBound }
        self.negated = negated
        for c in UInt32(0)..<128 where self.ranges.contains(where: { $0.contains(c) }) != negated {
            if c < 64 { asciiLow |= 1 << UInt64(c) } else { asciiHigh |= 1 << UInt64(c - 64) }
        }
    }

    @inline(__always)
    func contains(_ c: UInt32) -> Bool {
        if c < 64 { return asciiLow & (1 << UInt64(c)) != 0 }
        if c < 128 { return asciiHigh & (1 << UInt64(c - 64)) != 0 }
        for r in ranges where r.contains(c) { return !negated }
        return negated
    }

    /// Whether any code point in `lo...hi` is in the set (for a UTF-8 character not yet complete).
    func intersects(_ lo: UInt32, _ hi: UInt32) -> Bool {
        if !negated { return ranges.contains { $0.lowerBound <= hi && $0.upperBound >= lo } }
        // Negated: is lo...hi entirely covered by the (sorted, maybe overlapping) ranges?
        var next = lo
        for r in ranges where r.upperBound >= next {
            if r.lowerBound > next { return true }
            if r.upperBound >= hi { return false }
            next = r.upperBound + 1
        }
        return true
    }
}

/// A compiled grammar: immutable and shared by every sequence that uses it.
public struct Grammar: Sendable {
    let elements: [GrammarElement]
    /// Start positions (in `elements`) of each rule's alternatives.
    let alternatives: [[Int32]]
    let charSets: [GrammarCharSet]
    /// Rule names; rules made for groups and repetitions are named after the rule they came from.
    public let ruleNames: [String]
    let root: Int32

    /// Parses and compiles GBNF text whose start rule is `root`.
    public static func parse(_ text: String, root: String = "root") throws(GrammarError) -> Grammar {
        var builder = GrammarBuilder(rules: try GBNFParser.parse(text))
        return try builder.build(root: root)
    }
}

/// Lowers parsed rules to a `Grammar` and checks it.
struct GrammarBuilder {
    private let parsed: [GBNFRule]
    private var index: [String: Int32] = [:]
    private var names: [String] = []
    private var bodies: [[[GrammarElement]]] = []
    private var charSets: [GrammarCharSet] = []
    private var setIndex: [GrammarCharSet: Int32] = [:]

    init(rules: [GBNFRule]) { parsed = rules }

    mutating func build(root: String) throws(GrammarError) -> Grammar {
        for rule in parsed {
            if index[rule.name] != nil { throw GrammarError(.duplicateRule(rule.name)) }
            index[rule.name] = Int32(names.count)
            names.append(rule.name)
            bodies.append([])
        }
        guard let rootIndex = index[root] else { throw GrammarError(.missingRoot(root)) }
        for (r, rule) in parsed.enumerated() {
            var alts: [[GrammarElement]] = []
            for alt in rule.alternatives { alts.append(try lower(alt, owner: rule.name)) }
            bodies[r] = alts
        }
        try checkLeftRecursion()
        try checkLeadingDepth()
        var elements: [GrammarElement] = []
        var starts: [[Int32]] = []
        for alts in bodies {
            var s: [Int32] = []
            for alt in alts {
                s.append(Int32(elements.count))
                elements.append(contentsOf: alt)
                elements.append(GrammarElement(kind: .end, argument: 0))
            }
            starts.append(s)
        }
        return Grammar(elements: elements, alternatives: starts, charSets: charSets, ruleNames: names, root: rootIndex)
    }

    private mutating func lower(_ items: [GBNFItem], owner: String) throws(GrammarError) -> [GrammarElement] {
        var out: [GrammarElement] = []
        for item in items { try lower(item, owner: owner, into: &out) }
        return out
    }

    private mutating func lower(_ item: GBNFItem, owner: String, into out: inout [GrammarElement]) throws(GrammarError) {
        switch item {
        case .literal(let points):
            for p in points { out.append(chars(GrammarCharSet(ranges: [p...p], negated: false))) }
        case let .charClass(ranges, negated):
            out.append(chars(GrammarCharSet(ranges: ranges, negated: negated)))
        case .reference(let name):
            guard let r = index[name] else { throw GrammarError(.undefinedRule(name)) }
            out.append(GrammarElement(kind: .reference, argument: r))
        case .group(let alternatives):
            var alts: [[GrammarElement]] = []
            for alt in alternatives { alts.append(try lower(alt, owner: owner)) }
            out.append(reference(newRule(owner, alts)))
        case let .repetition(inner, minimum, maximum):
            let unit = try lower([inner], owner: owner)
            for _ in 0..<minimum { out.append(contentsOf: unit) }
            if let maximum {
                // Nested optionals, so that each count has exactly one parse.
                var tail: Int32? = nil
                for _ in 0..<(maximum - minimum) {
                    var more = unit
                    if let tail { more.append(reference(tail)) }
                    tail = newRule(owner, [more, []])
                }
                if let tail { out.append(reference(tail)) }
            } else {
                let r = newRule(owner, [])
                bodies[Int(r)] = [unit + [reference(r)], []]
                out.append(reference(r))
            }
        }
    }

    private mutating func newRule(_ owner: String, _ alts: [[GrammarElement]]) -> Int32 {
        let r = Int32(names.count)
        names.append("\(owner)-\(names.count)")
        bodies.append(alts)
        return r
    }

    private mutating func chars(_ set: GrammarCharSet) -> GrammarElement {
        if let i = setIndex[set] { return GrammarElement(kind: .chars, argument: i) }
        let i = Int32(charSets.count)
        charSets.append(set)
        setIndex[set] = i
        return GrammarElement(kind: .chars, argument: i)
    }

    private func reference(_ r: Int32) -> GrammarElement { GrammarElement(kind: .reference, argument: r) }

    /// Fails when a rule can reach itself through references preceded only by what may match
    /// nothing: the matcher would expand it forever.
    private func checkLeftRecursion() throws(GrammarError) {
        let n = bodies.count
        var nullable = [Bool](repeating: false, count: n)
        var changed = true
        while changed {
            changed = false
            for r in 0..<n where !nullable[r] {
                let isNullable = bodies[r].contains { alt in
                    alt.allSatisfy { $0.kind == .reference && nullable[Int($0.argument)] }
                }
                if isNullable { nullable[r] = true; changed = true }
            }
        }
        // Rules each rule can start with.
        var leading = [[Int]](repeating: [], count: n)
        for r in 0..<n {
            for alt in bodies[r] {
                for e in alt {
                    guard e.kind == .reference else { break }
                    leading[r].append(Int(e.argument))
                    if !nullable[Int(e.argument)] { break }
                }
            }
        }
        // Depth-first search for a cycle (0 new, 1 on the path, 2 done).
        var mark = [UInt8](repeating: 0, count: n)
        for start in 0..<n where mark[start] == 0 {
            var stack: [(rule: Int, next: Int)] = [(start, 0)]
            mark[start] = 1
            while let top = stack.last {
                if top.next < leading[top.rule].count {
                    stack[stack.count - 1].next += 1
                    let child = leading[top.rule][top.next]
                    if mark[child] == 1 {
                        throw GrammarError(.leftRecursion(names[originalRule(of: child)]))
                    }
                    if mark[child] == 0 {
                        mark[child] = 1
                        stack.append((child, 0))
                    }
                } else {
                    mark[top.rule] = 2
                    stack.removeLast()
                }
            }
        }
    }

    /// The matcher follows references that start an alternative recursively; a chain of them
    /// longer than this is refused so that it cannot exhaust the thread's stack.
    static let maxLeadingDepth = 1_000

    private func checkLeadingDepth() throws(GrammarError) {
        let n = bodies.count
        var leading = [[Int]](repeating: [], count: n)
        var nullable = [Bool](repeating: false, count: n)
        var changed = true
        while changed {
            changed = false
            for r in 0..<n where !nullable[r] {
                if bodies[r].contains(where: { alt in alt.allSatisfy { $0.kind == .reference && nullable[Int($0.argument)] } }) {
                    nullable[r] = true
                    changed = true
                }
            }
        }
        for r in 0..<n {
            for alt in bodies[r] {
                for e in alt {
                    guard e.kind == .reference else { break }
                    leading[r].append(Int(e.argument))
                    if !nullable[Int(e.argument)] { break }
                }
            }
        }
        // Longest chain in the (acyclic, after the left-recursion check) leading graph,
        // computed without recursion.
        var depth = [Int](repeating: -1, count: n)
        for start in 0..<n where depth[start] < 0 {
            var stack = [(start, false)]
            while let (r, done) = stack.popLast() {
                if done {
                    depth[r] = 1 + (leading[r].map { depth[$0] }.max() ?? 0)
                    if depth[r] > Self.maxLeadingDepth {
                        throw GrammarError(.nestedTooDeeply(names[originalRule(of: r)]))
                    }
                } else if depth[r] < 0 {
                    stack.append((r, true))
                    for c in leading[r] where depth[c] < 0 { stack.append((c, false)) }
                }
            }
        }
    }

    /// The user's rule a generated rule was made for (its name's prefix before "-N").
    private func originalRule(of r: Int) -> Int {
        if r < parsed.count { return r }
        let name = names[r]
        if let dash = name.lastIndex(of: "-"), let owner = index[String(name[..<dash])] { return Int(owner) }
        return r
    }
}
