/// Recursive-descent parser following jinja2's grammar and operator precedence.
struct Parser {
    var tokens: [Token]
    var i = 0
    /// Nesting of if/elif/else bodies: unknown filters/tests there fail only when executed
    /// (jinja2 3.x does the same), elsewhere they fail at parse time.
    var conditionalDepth = 0
    var exprDepth = 0
    var blockStack: [String] = []
    /// Loops enclosing the current position (inside the current macro); `break`/`continue`
    /// outside a loop are syntax errors.
    var loopDepth = 0
    static let maxExprDepth = 64
    /// Limits on nesting so that parsing and rendering stay well inside a thread's stack.
    static let maxTreeDepth = 160
    static let maxBlockDepth = 64

    init(tokens: [Token]) { self.tokens = tokens }

    var current: Token { tokens[min(i, tokens.count - 1)] }
    func peek(_ k: Int = 1) -> Token { tokens[min(i + k, tokens.count - 1)] }
    mutating func advance() { if i < tokens.count - 1 { i += 1 } }

    func describe(_ t: TokenKind) -> String {
        switch t {
        case .data: return "template data / text"
        case .varBegin: return "begin of print statement"
        case .varEnd: return "end of print statement"
        case .blockBegin: return "begin of statement block"
        case .blockEnd: return "end of statement block"
        case .name(let n): return n
        case .string: return "string"
        case .int: return "integer"
        case .float: return "float"
        case .op(let o): return o
        case .eof: return "end of template"
        }
    }

    func fail(_ msg: String, _ pos: SourcePos? = nil) -> TemplateError {
        let p = pos ?? current.pos
        return TemplateError(kind: .syntax, message: msg, line: p.line, column: p.column)
    }

    func isOp(_ o: String) -> Bool {
        if case .op(let x) = current.kind, x == o { return true }
        return false
    }

    func isName(_ n: String) -> Bool {
        if case .name(let x) = current.kind, x == n { return true }
        return false
    }

    mutating func skipOp(_ o: String) -> Bool {
        if isOp(o) { advance(); return true }
        return false
    }

    mutating func skipName(_ n: String) -> Bool {
        if isName(n) { advance(); return true }
        return false
    }

    mutating func expectOp(_ o: String) throws {
        guard isOp(o) else { throw fail("expected token '\(o)', got '\(describe(current.kind))'") }
        advance()
    }

    mutating func expectName() throws -> String {
        guard case .name(let n) = current.kind else {
            throw fail("expected token 'name', got '\(describe(current.kind))'")
        }
        advance()
        return n
    }

    mutating func expectBlockEnd() throws {
        guard current.kind == .blockEnd else {
            throw fail("expected token 'end of statement block', got '\(describe(current.kind))'")
        }
        advance()
    }

    // MARK: statements

    mutating func parseTemplate() throws -> [Node] {
        let nodes = try subparse(endTokens: [])
        if current.kind != .eof { throw fail("unexpected '\(describe(current.kind))'") }
        return nodes
    }

    /// Parses nodes until a block tag whose name is in `endTokens` (left unconsumed, positioned on
    /// the tag name) or the end of the template.
    mutating func subparse(endTokens: [String]) throws -> [Node] {
        var body: [Node] = []
        while true {
            switch current.kind {
            case .data(let s):
                body.append(.text(s))
                advance()
            case .varBegin:
                advance()
                let e = try parseTuple(withCondexpr: true)
                guard current.kind == .varEnd else {
                    throw fail("expected token 'end of print statement', got '\(describe(current.kind))'")
                }
                advance()
                body.append(.output(e))
            case .blockBegin:
                let beginPos = current.pos
                advance()
                if case .name(let n) = current.kind, endTokens.contains(n) { return body }
                body.append(try parseStatement(beginPos: beginPos, endTokens: endTokens))
            case .eof:
                if !endTokens.isEmpty {
                    throw fail(
                        "Unexpected end of template. Jinja was looking for the following tags: "
                            + endTokens.map { "'\($0)'" }.joined(separator: " or ")
                            + ". The innermost block that needs to be closed is '\(blockStack.last ?? "")'.")
                }
                return body
            default:
                throw fail("unexpected '\(describe(current.kind))'")
            }
        }
    }

    /// Parses a body ended by `end` (consumed together with its block end).
    mutating func parseBody(until end: String, block: String) throws -> [Node] {
        if blockStack.count >= Parser.maxBlockDepth { throw fail("blocks nested too deeply") }
        blockStack.append(block)
        defer { blockStack.removeLast() }
        let body = try subparse(endTokens: [end])
        advance()  // end tag name
        try expectBlockEnd()
        return body
    }

    mutating func parseStatement(beginPos: SourcePos, endTokens: [String]) throws -> Node {
        guard case .name(let tag) = current.kind else { throw fail("tag name expected") }
        let pos = current.pos
        switch tag {
        case "if": return try parseIf()
        case "for": return try parseFor(pos: pos)
        case "set": return try parseSet(pos: pos)
        case "macro": return try parseMacro(pos: pos)
        case "call": return try parseCallBlock(pos: pos)
        case "filter": return try parseFilterBlock()
        case "with": return try parseWith(pos: pos)
        case "break", "continue":
            if loopDepth == 0 { throw fail("'\(tag)' outside loop", pos) }
            advance()
            try expectBlockEnd()
            return tag == "break" ? .breakStmt(pos) : .continueStmt(pos)
        case "generation":
            advance()
            try expectBlockEnd()
            return .generation(try parseBody(until: "endgeneration", block: "generation"))
        default:
            var msg = "Encountered unknown tag '\(tag)'."
            if !endTokens.isEmpty {
                msg += " Jinja was looking for the following tags: "
                    + endTokens.map { "'\($0)'" }.joined(separator: " or ")
                    + ". The innermost block that needs to be closed is '\(blockStack.last ?? "")'."
            }
            throw fail(msg, pos)
        }
    }

    mutating func parseIf() throws -> Node {
        advance()  // if
        var branches: [(Expr, [Node])] = []
        var elseBody: [Node] = []
        if blockStack.count >= Parser.maxBlockDepth { throw fail("blocks nested too deeply") }
        blockStack.append("if")
        defer { blockStack.removeLast() }
        var test = try parseTuple(withCondexpr: false)
        try expectBlockEnd()
        conditionalDepth += 1
        defer { conditionalDepth -= 1 }
        while true {
            let body = try subparse(endTokens: ["elif", "else", "endif"])
            branches.append((test, body))
            let tag = try expectName()
            if tag == "elif" {
                test = try parseTuple(withCondexpr: false)
                try expectBlockEnd()
                continue
            }
            if tag == "else" {
                try expectBlockEnd()
                elseBody = try subparse(endTokens: ["endif"])
                advance()
            }
            try expectBlockEnd()
            break
        }
        return .ifStmt(branches: branches, elseBody: elseBody)
    }

    mutating func parseFor(pos: SourcePos) throws -> Node {
        advance()  // for
        let target = try parseAssignTarget(extraEnd: ["in"], withNamespace: false)
        guard skipName("in") else { throw fail("expected token 'in', got '\(describe(current.kind))'") }
        let iter = try parseTuple(withCondexpr: false, extraEnd: ["recursive"])
        var filter: Expr? = nil
        if skipName("if") { filter = try parseExpression() }
        let recursive = skipName("recursive")
        try expectBlockEnd()
        if blockStack.count >= Parser.maxBlockDepth { throw fail("blocks nested too deeply") }
        blockStack.append("for")
        defer { blockStack.removeLast() }
        loopDepth += 1
        let body = try subparse(endTokens: ["endfor", "else"])
        loopDepth -= 1
        var elseBody: [Node] = []
        if try expectName() == "else" {
            try expectBlockEnd()
            elseBody = try subparse(endTokens: ["endfor"])
            advance()
        }
        try expectBlockEnd()
        return .forStmt(target: target, iter: iter, filter: filter, body: body, elseBody: elseBody, recursive: recursive, pos: pos)
    }

    mutating func parseSet(pos: SourcePos) throws -> Node {
        advance()  // set
        let target = try parseAssignTarget(extraEnd: [], withNamespace: true)
        if skipOp("=") {
            let e = try parseTuple(withCondexpr: true)
            try expectBlockEnd()
            return .set(target, e, pos: pos)
        }
        let filter = try parseFilterChain(nil, startInline: false)
        try expectBlockEnd()
        let body = try parseBody(until: "endset", block: "set")
        return .setBlock(target, filter: filter, body: body, pos: pos)
    }

    mutating func parseSignature() throws -> [MacroParam] {
        var params: [MacroParam] = []
        try expectOp("(")
        while !isOp(")") {
            if !params.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            let p = current.pos
            let name = try expectName()
            var def: Expr? = nil
            if skipOp("=") {
                def = try parseExpression(withCondexpr: true)
            } else if params.contains(where: { $0.defaultValue != nil }) {
                throw fail("non-default argument follows default argument", p)
            }
            params.append(MacroParam(name: name, defaultValue: def))
        }
        advance()
        return params
    }

    mutating func parseMacro(pos: SourcePos) throws -> Node {
        advance()  // macro
        let name = try expectName()
        let params = try parseSignature()
        try expectBlockEnd()
        let saved = (conditionalDepth, loopDepth)
        conditionalDepth = 0
        loopDepth = 0
        defer { (conditionalDepth, loopDepth) = saved }
        let body = try parseBody(until: "endmacro", block: "macro")
        return .macro(MacroDef(name: name, params: params, body: body, pos: pos))
    }

    mutating func parseCallBlock(pos: SourcePos) throws -> Node {
        advance()  // call
        var params: [MacroParam] = []
        if isOp("(") { params = try parseSignature() }
        let callExpr = try parseExpression(withCondexpr: true)
        guard case .call = callExpr.kind else { throw fail("expected call", callExpr.pos) }
        try expectBlockEnd()
        let body = try parseBody(until: "endcall", block: "call")
        return .callBlock(call: callExpr, caller: MacroDef(name: "caller", params: params, body: body, pos: pos))
    }

    mutating func parseFilterBlock() throws -> Node {
        advance()  // filter
        guard let f = try parseFilterChain(nil, startInline: true) else { throw fail("expected filter name") }
        try expectBlockEnd()
        let body = try parseBody(until: "endfilter", block: "filter")
        return .filterBlock(filter: f, body: body)
    }

    mutating func parseWith(pos: SourcePos) throws -> Node {
        advance()  // with
        var assigns: [(AssignTarget, Expr)] = []
        while current.kind != .blockEnd {
            if !assigns.isEmpty { try expectOp(",") }
            let t = try parseAssignTarget(extraEnd: [], withNamespace: false)
            try expectOp("=")
            assigns.append((t, try parseExpression(withCondexpr: true)))
        }
        try expectBlockEnd()
        let body = try parseBody(until: "endwith", block: "with")
        return .with(assignments: assigns, body: body, pos: pos)
    }

    mutating func parseAssignTarget(extraEnd: [String], withNamespace: Bool) throws -> AssignTarget {
        if withNamespace, case .name(let ns) = current.kind, case .op(".") = peek().kind {
            advance()
            advance()
            let attr = try expectName()
            return .attr(ns, attr)
        }
        let e = try parseTuple(simplified: true, withCondexpr: true, extraEnd: extraEnd)
        return try toTarget(e)
    }

    func toTarget(_ e: Expr) throws -> AssignTarget {
        switch e.kind {
        case .name(let n):
            if ["true", "false", "none", "True", "False", "None"].contains(n) {
                throw fail("Can't assign to '\(n)'", e.pos)
            }
            return .name(n)
        case .tuple(let items): return .tuple(try items.map(toTarget))
        default: throw fail("can't assign to \(exprTypeName(e))", e.pos)
        }
    }

    func exprTypeName(_ e: Expr) -> String {
        switch e.kind {
        case .literal: return "Const"
        case .list: return "List"
        case .dict: return "Dict"
        case .call: return "Call"
        default: return "expression"
        }
    }
}
