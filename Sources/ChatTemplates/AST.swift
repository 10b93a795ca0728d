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
    init(_ kind: Kind, _ pos: SourcePos) {
        self.kind = kind
        self.pos = pos
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
