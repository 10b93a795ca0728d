// The incremental parse state of one sequence, after llama.cpp's grammar stacks: the state is
// the set of stacks the text so far can be in. A stack is a chain of positions (the element to
// match next, then where to continue when that alternative ends, …), kept as nodes in an arena
// with shared parents. Nodes are interned, so equal stacks are equal node ids, the set never
// holds duplicates, and a loop like `x*` (a tail reference) does not grow the stack.
//
// The matcher eats bytes: a UTF-8 character split across tokens is kept as a partial code point,
// and a partial character is only accepted when some character it can still become is allowed.

/// Arena of stack nodes: position of the next element and the node to continue with (-1: the
/// grammar is complete).
struct GrammarStackArena: Sendable {
    private(set) var position: [Int32] = []
    private(set) var parent: [Int32] = []
    /// Open-addressing table of node ids by (position, parent); -1 marks a free slot. (The mask
    /// walk interns a node per byte it tries, so this is the hot path.)
    private var slots = [Int32](repeating: -1, count: 1024)

    var count: Int { position.count }

    @inline(__always)
    private static func hash(_ pos: Int32, _ up: Int32) -> Int {
        let key = UInt64(UInt32(bitPattern: pos)) << 32 | UInt64(UInt32(bitPattern: up))
        return Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 20)
    }

    mutating func node(_ pos: Int32, _ up: Int32) -> Int32 {
        let mask = slots.count - 1
        var h = Self.hash(pos, up) & mask
        while true {
            let n = slots[h]
            if n < 0 { break }
            if position[Int(n)] == pos && parent[Int(n)] == up { return n }
            h = (h + 1) & mask
        }
        let n = Int32(position.count)
        position.append(pos)
        parent.append(up)
        slots[h] = n
        if position.count * 2 > slots.count { grow() }
        return n
    }

    private mutating func grow() {
        var bigger = [Int32](repeating: -1, count: slots.count * 2)
        let mask = bigger.count - 1
        for n in position.indices {
            var h = Self.hash(position[n], parent[n]) & mask
            while bigger[h] >= 0 { h = (h + 1) & mask }
            bigger[h] = Int32(n)
        }
        slots = bigger
    }
}

/// A state during matching: stack tops in a caller's buffer, plus the partial character.
struct GrammarFrame {
    var start: Int
    var count: Int
    /// Whether the text so far is a complete sentence of the grammar.
    var canEnd: Bool
    var partial: UInt32 = 0
    /// Continuation bytes still missing from the current character (0: on a character boundary).
    var remaining: UInt8 = 0
}

/// Matches text against a grammar one byte at a time; copying it clones the state.
public struct GrammarMatcher: Sendable {
    public let grammar: Grammar
    var arena = GrammarStackArena()
    /// The stack tops of the current state (each on a character set element).
    private(set) var tops: [Int32] = []
    public private(set) var canEnd = false
    private(set) var partial: UInt32 = 0
    private(set) var remaining: UInt8 = 0
    /// Arena size above which `accept` rebuilds the arena from the live stacks only.
    var compactionThreshold = 1 << 18

    public init(grammar: Grammar) {
        self.grammar = grammar
        var buffer: [Int32] = []
        var end = false
        for alt in grammar.alternatives[Int(grammar.root)] {
            expandStart(alt, continuation: -1, into: &buffer, from: 0, canEnd: &end)
        }
        tops = buffer
        canEnd = end
    }

    /// Whether the grammar is complete and nothing more may follow.
    public var isComplete: Bool { tops.isEmpty && remaining == 0 }

    /// Whether `bytes` may come next; the state does not change.
    public mutating func accepts<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        var buffer = tops
        return feed(bytes, buffer: &buffer) != nil
    }

    /// Consumes `bytes`; returns false (and changes nothing) when the grammar does not allow them.
    @discardableResult
    public mutating func accept<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        var buffer = tops
        guard let f = feed(bytes, buffer: &buffer) else { return false }
        tops = Array(buffer[f.start..<(f.start + f.count)])
        canEnd = f.canEnd
        partial = f.partial
        remaining = f.remaining
        if arena.count > compactionThreshold { compact() }
        return true
    }

    /// Consumes a string (for tests and prompts written by hand).
    @discardableResult
    public mutating func accept(_ text: String) -> Bool { accept(Array(text.utf8)) }

    var currentFrame: GrammarFrame {
        GrammarFrame(start: 0, count: tops.count, canEnd: canEnd, partial: partial, remaining: remaining)
    }

    private mutating func feed<C: Collection<UInt8>>(_ bytes: C, buffer: inout [Int32]) -> GrammarFrame? {
        var f = currentFrame
        for b in bytes {
            guard let next = step(b, from: f, buffer: &buffer) else { return nil }
            f = next
        }
        return f
    }

    // MARK: - Core steps (shared with the mask walk)

    /// The state after byte `b` from state `f` (whose tops are in `buffer`); new tops are
    /// appended to `buffer`. Nil when the grammar rejects the byte.
    mutating func step(_ b: UInt8, from f: GrammarFrame, buffer: inout [Int32]) -> GrammarFrame? {
        if f.remaining == 0 {
            if b < 0x80 { return advance(UInt32(b), from: f, buffer: &buffer) }
            // `least` is the smallest code point a sequence of this length may carry (shorter
            // forms are overlong), so a lead byte lives only if the grammar allows such a character.
            let value: UInt32, need: UInt8, least: UInt32
            switch b {
            case 0xC2...0xDF: value = UInt32(b & 0x1F); need = 1; least = 0x80
            case 0xE0...0xEF: value = UInt32(b & 0x0F); need = 2; least = 0x800
            case 0xF0...0xF4: value = UInt32(b & 0x07); need = 3; least = 0x10000
            default: return nil
            }
            return partialFrame(f, value, need, buffer, least: least)
        }
        guard b & 0xC0 == 0x80 else { return nil }
        let value = f.partial << 6 | UInt32(b & 0x3F)
        // Only well-formed UTF-8: an overlong form (F0 80 81 B3 "is" 's') or a surrogate would let
        // byte tokens spell a literal the text then shows as U+FFFD. The first continuation byte
        // decides: for a 4-byte character the 9 bits so far must make a code point in
        // 0x10000...0x10FFFF; for a 3-byte one (its lead's 4 bits are below 0x10, which the second
        // continuation of a valid 4-byte character never is) one of at least 0x800 outside
        // 0xD800...0xDFFF.
        if f.remaining == 3 && !(0x10...0x10F).contains(value) { return nil }
        if f.remaining == 2 && f.partial < 0x10 && (value < 0x20 || (0x360...0x37F).contains(value)) { return nil }
        let need = f.remaining - 1
        if need == 0 { return advance(value, from: f, buffer: &buffer) }
        return partialFrame(f, value, need, buffer)
    }

    /// A mid-character state, alive when some top accepts a character with this prefix.
    private func partialFrame(_ f: GrammarFrame, _ value: UInt32, _ need: UInt8, _ buffer: [Int32], least: UInt32 = 0) -> GrammarFrame? {
        let shift = UInt32(6 * need)
        let lo = max(value << shift, least), hi = min((value << shift) | ((1 << shift) - 1), 0x10FFFF)
        guard lo <= hi else { return nil }
        for k in f.start..<(f.start + f.count) {
            let pos = Int(arena.position[Int(buffer[k])])
            if grammar.charSets[Int(grammar.elements[pos].argument)].intersects(lo, hi) {
                return GrammarFrame(start: f.start, count: f.count, canEnd: false, partial: value, remaining: need)
            }
        }
        return nil
    }

    /// Matches code point `c` against every top of `f`.
    private mutating func advance(_ c: UInt32, from f: GrammarFrame, buffer: inout [Int32]) -> GrammarFrame? {
        let start = buffer.count
        var end = false
        for k in f.start..<(f.start + f.count) {
            let n = Int(buffer[k])
            let pos = Int(arena.position[n])
            guard grammar.charSets[Int(grammar.elements[pos].argument)].contains(c) else { continue }
            let up = arena.parent[n]
            let next = pos + 1
            if grammar.elements[next].kind == .end {
                if up < 0 { end = true } else { expand(up, into: &buffer, from: start, canEnd: &end) }
            } else {
                expand(arena.node(Int32(next), up), into: &buffer, from: start, canEnd: &end)
            }
        }
        if buffer.count == start && !end { return nil }
        return GrammarFrame(start: start, count: buffer.count - start, canEnd: end)
    }

    /// Adds the tops reachable from node `n` without consuming a character.
    private mutating func expand(_ n: Int32, into buffer: inout [Int32], from start: Int, canEnd: inout Bool) {
        var n = n
        while true {
            let pos = Int(arena.position[Int(n)])
            let e = grammar.elements[pos]
            switch e.kind {
            case .end:
                let up = arena.parent[Int(n)]
                if up < 0 { canEnd = true; return }
                n = up
            case .chars:
                var k = start
                while k < buffer.count {
                    if buffer[k] == n { return }
                    k += 1
                }
                buffer.append(n)
                return
            case .reference:
                let up = arena.parent[Int(n)]
                // A reference at the end of its alternative continues straight with the parent.
                let continuation = grammar.elements[pos + 1].kind == .end ? up : arena.node(Int32(pos + 1), up)
                for alt in grammar.alternatives[Int(e.argument)] {
                    expandStart(alt, continuation: continuation, into: &buffer, from: start, canEnd: &canEnd)
                }
                return
            }
        }
    }

    private mutating func expandStart(
        _ alt: Int32, continuation: Int32, into buffer: inout [Int32], from start: Int, canEnd: inout Bool
    ) {
        if grammar.elements[Int(alt)].kind == .end {
            if continuation < 0 { canEnd = true } else { expand(continuation, into: &buffer, from: start, canEnd: &canEnd) }
        } else {
            expand(arena.node(alt, continuation), into: &buffer, from: start, canEnd: &canEnd)
        }
    }

    /// Rebuilds the arena with only the nodes the current stacks use.
    private mutating func compact() {
        let old = arena
        var fresh = GrammarStackArena()
        var map: [Int32: Int32] = [:]
        func copy(_ n: Int32) -> Int32 {
            if n < 0 { return n }
            if let m = map[n] { return m }
            // Chains are copied parent first; they are short (one node per open rule).
            var chain: [Int32] = []
            var k = n
            while k >= 0, map[k] == nil { chain.append(k); k = old.parent[Int(k)] }
            var up = k < 0 ? -1 : map[k]!
            for c in chain.reversed() {
                up = fresh.node(old.position[Int(c)], up)
                map[c] = up
            }
            return map[n]!
        }
        tops = tops.map(copy)
        arena = fresh
    }
}
