/// Parsed template syntax. All nodes carry the source position used in error messages.

enum Literal: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
}

enum BinaryOp: String, Sendable {
    case add = "+", sub = "-", mul = "*", div = "/", floordiv = "//", mod = "%", pow = "**", concat = "~"
}

enum CompareOp: String, Sendable {
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=", `in` = "in", notIn = "not in"
}

enum Arg: Sendable {
    case positional(Expr)
    case keyword(String, Expr)
    case star(Expr)
    case starStar(Expr)
}

struct Expr: Sendable {
    indirect enum Kind: Sendable {
        case literal(Literal)
        case name(String)
        case list([Expr])
        case tuple([Expr])
        case dict([(Expr, Expr)])
        case getattr(Expr, String)
        case getitem(Expr, Expr)
        case slice(Expr?, Expr?, Expr?)
        case call(Expr, [Arg])
        /// `base | name(args)`; `base == nil` only inside filter blocks / set blocks (applied to the body).
        case filter(Expr?, String, [Arg])
        case test(Expr, String, [Arg], negated: Bool)
        case not(Expr)
        case neg(Expr)
        case pos(Expr)
        case binary(BinaryOp, Expr, Expr)
        case and(Expr, Expr)
        case or(Expr, Expr)
        case compare(Expr, [(CompareOp, Expr)])
        case cond(test: Expr, then: Expr, else: Expr?)
    }
    var kind: Kind
    var pos: SourcePos
    /// Height of the expression tree; the parser rejects very deep trees so evaluation cannot
    /// exhaust the stack.
    var depth: Int

    init(_ kind: Kind, _ pos: SourcePos) {
        self.kind = kind
        self.pos = pos
        self.depth = 1 + Expr.childDepth(kind)
    }

    static func childDepth(_ kind: Kind) -> Int {
        func d(_ e: Expr?) -> Int { e?.depth ?? 0 }
        func args(_ a: [Arg]) -> Int {
            a.map {
                switch $0 {
                case .positional(let e), .keyword(_, let e), .star(let e), .starStar(let e): return e.depth
                }
            }.max() ?? 0
        }
        switch kind {
        case .literal, .name: return 0
        case .list(let items), .tuple(let items): return items.map(\.depth).max() ?? 0
        case .dict(let pairs): return pairs.map { max($0.0.depth, $0.1.depth) }.max() ?? 0
        case .getattr(let o, _): return o.depth
        case .getitem(let o, let k): return max(o.depth, k.depth)
        case .slice(let a, let b, let c): return max(d(a), d(b), d(c))
        case .call(let f, let a): return max(f.depth, args(a))
        case .filter(let b, _, let a): return max(d(b), args(a))
        case .test(let b, _, let a, _): return max(b.depth, args(a))
        case .not(let x), .neg(let x), .pos(let x): return x.depth
        case .binary(_, let l, let r), .and(let l, let r), .or(let l, let r): return max(l.depth, r.depth)
        case .compare(let f, let ops): return max(f.depth, ops.map(\.1.depth).max() ?? 0)
        case .cond(let t, let a, let b): return max(t.depth, a.depth, d(b))
        }
    }
}

indirect enum AssignTarget: Sendable {
    case name(String)
    case tuple([AssignTarget])
    /// `ns.attr` (only namespaces accept attribute assignment)
    case attr(String, String)
}

struct MacroParam: Sendable {
    var name: String
    var defaultValue: Expr?
}

struct MacroDef: Sendable {
    var name: String
    var params: [MacroParam]
    var body: [Node]
    var pos: SourcePos
}

indirect enum Node: Sendable {
    case text(String)
    case output(Expr)
    case ifStmt(branches: [(Expr, [Node])], elseBody: [Node])
    case forStmt(target: AssignTarget, iter: Expr, filter: Expr?, body: [Node], elseBody: [Node], recursive: Bool, pos: SourcePos)
    case set(AssignTarget, Expr, pos: SourcePos)
    /// `{% set x | filters %}body{% endset %}`; `filter` is a chain whose innermost base is nil.
    case setBlock(AssignTarget, filter: Expr?, body: [Node], pos: SourcePos)
    case macro(MacroDef)
    case callBlock(call: Expr, caller: MacroDef)
    case filterBlock(filter: Expr, body: [Node])
    case breakStmt(SourcePos)
    case continueStmt(SourcePos)
    case with(assignments: [(AssignTarget, Expr)], body: [Node], pos: SourcePos)
    /// Hugging Face's `{% generation %}` (assistant-mask tracking); renders its body unchanged.
    case generation([Node])
}

extension Node {
    /// A representative source position for errors raised by the statement itself.
    var pos: SourcePos {
        switch self {
        case .text, .generation: return SourcePos(line: 1, column: 1)
        case .output(let e): return e.pos
        case .ifStmt(let branches, _): return branches.first?.0.pos ?? SourcePos(line: 1, column: 1)
        case .forStmt(_, _, _, _, _, _, let p), .set(_, _, let p), .setBlock(_, _, _, let p), .with(_, _, let p): return p
        case .macro(let m): return m.pos
        case .callBlock(let c, _): return c.pos
        case .filterBlock(let f, _): return f.pos
        case .breakStmt(let p), .continueStmt(let p): return p
        }
    }
}
