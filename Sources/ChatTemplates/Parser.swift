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

    // MARK: expressions

    func isTupleEnd(_ extraEnd: [String]) -> Bool {
        switch current.kind {
        case .varEnd, .blockEnd, .eof: return true
        case .op(")"): return true
        case .name(let n): return extraEnd.contains(n)
        default: return false
        }
    }

    mutating func parseTuple(simplified: Bool = false, withCondexpr: Bool = true, extraEnd: [String] = [],
                             explicitParentheses: Bool = false) throws -> Expr
    {
        let pos = current.pos
        var args: [Expr] = []
        var isTuple = false
        while true {
            if !args.isEmpty { try expectOp(",") }
            if isTupleEnd(extraEnd) { break }
            if simplified {
                args.append(try parsePrimary())
            } else {
                args.append(try parseExpression(withCondexpr: withCondexpr))
            }
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let a = args.first { return a }
            if !explicitParentheses {
                throw fail("Expected an expression, got '\(describe(current.kind))'")
            }
        }
        return Expr(.tuple(args), pos)
    }

    mutating func parseExpression(withCondexpr: Bool = true) throws -> Expr {
        exprDepth += 1
        defer { exprDepth -= 1 }
        if exprDepth > Parser.maxExprDepth { throw fail("expression nested too deeply") }
        let e = withCondexpr ? try parseCondexpr() : try parseOr()
        if e.depth > Parser.maxTreeDepth { throw fail("expression nested too deeply", e.pos) }
        return e
    }

    mutating func parseCondexpr() throws -> Expr {
        var e1 = try parseOr()
        while isName("if") {
            let pos = current.pos
            advance()
            let e2 = try parseOr()
            var e3: Expr? = nil
            if skipName("else") { e3 = try parseCondexpr() }
            e1 = Expr(.cond(test: e2, then: e1, else: e3), pos)
        }
        return e1
    }

    mutating func parseOr() throws -> Expr {
        var left = try parseAnd()
        while isName("or") {
            let pos = current.pos
            advance()
            left = Expr(.or(left, try parseAnd()), pos)
        }
        return left
    }

    mutating func parseAnd() throws -> Expr {
        var left = try parseNot()
        while isName("and") {
            let pos = current.pos
            advance()
            left = Expr(.and(left, try parseNot()), pos)
        }
        return left
    }

    mutating func parseNot() throws -> Expr {
        if isName("not") {
            let pos = current.pos
            advance()
            exprDepth += 1
            defer { exprDepth -= 1 }
            if exprDepth > Parser.maxExprDepth { throw fail("expression nested too deeply") }
            return Expr(.not(try parseNot()), pos)
        }
        return try parseCompare()
    }

    mutating func parseCompare() throws -> Expr {
        let pos = current.pos
        let first = try parseMath1()
        var ops: [(CompareOp, Expr)] = []
        while true {
            if case .op(let o) = current.kind, let op = CompareOp(rawValue: o), op != .in, op != .notIn {
                advance()
                ops.append((op, try parseMath1()))
            } else if isName("in") {
                advance()
                ops.append((.in, try parseMath1()))
            } else if isName("not"), case .name("in") = peek().kind {
                advance()
                advance()
                ops.append((.notIn, try parseMath1()))
            } else {
                break
            }
        }
        if ops.isEmpty { return first }
        return Expr(.compare(first, ops), pos)
    }

    mutating func parseMath1() throws -> Expr {
        var left = try parseConcat()
        while case .op(let o) = current.kind, o == "+" || o == "-" {
            let pos = current.pos
            advance()
            left = Expr(.binary(o == "+" ? .add : .sub, left, try parseConcat()), pos)
        }
        return left
    }

    mutating func parseConcat() throws -> Expr {
        var left = try parseMath2()
        while isOp("~") {
            let pos = current.pos
            advance()
            left = Expr(.binary(.concat, left, try parseMath2()), pos)
        }
        return left
    }

    mutating func parseMath2() throws -> Expr {
        var left = try parsePow()
        while case .op(let o) = current.kind, let op = BinaryOp(rawValue: o), [.mul, .div, .floordiv, .mod].contains(op) {
            let pos = current.pos
            advance()
            left = Expr(.binary(op, left, try parsePow()), pos)
        }
        return left
    }

    mutating func parsePow() throws -> Expr {
        var left = try parseUnary()
        while isOp("**") {
            let pos = current.pos
            advance()
            left = Expr(.binary(.pow, left, try parseUnary()), pos)
        }
        return left
    }

    mutating func parseUnary(withFilter: Bool = true) throws -> Expr {
        exprDepth += 1
        defer { exprDepth -= 1 }
        if exprDepth > Parser.maxExprDepth { throw fail("expression nested too deeply") }
        let pos = current.pos
        var node: Expr
        if isOp("-") {
            advance()
            node = Expr(.neg(try parseUnary(withFilter: false)), pos)
        } else if isOp("+") {
            advance()
            node = Expr(.pos(try parseUnary(withFilter: false)), pos)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpr(node) }
        return node
    }

    mutating func parsePrimary() throws -> Expr {
        let pos = current.pos
        switch current.kind {
        case .name(let n):
            advance()
            switch n {
            case "true", "True": return Expr(.literal(.bool(true)), pos)
            case "false", "False": return Expr(.literal(.bool(false)), pos)
            case "none", "None": return Expr(.literal(.none), pos)
            default: return Expr(.name(n), pos)
            }
        case .string(var s):
            advance()
            while case .string(let more) = current.kind {
                s += more
                advance()
            }
            return Expr(.literal(.string(s)), pos)
        case .int(let v):
            advance()
            return Expr(.literal(.int(v)), pos)
        case .float(let v):
            advance()
            return Expr(.literal(.double(v)), pos)
        case .op("("):
            advance()
            let e = try parseTuple(explicitParentheses: true)
            try expectOp(")")
            return e
        case .op("["):
            advance()
            var items: [Expr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            advance()
            return Expr(.list(items), pos)
        case .op("{"):
            advance()
            var items: [(Expr, Expr)] = []
            while !isOp("}") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let k = try parseExpression()
                try expectOp(":")
                items.append((k, try parseExpression()))
            }
            advance()
            return Expr(.dict(items), pos)
        default:
            throw fail("unexpected '\(describe(current.kind))'")
        }
    }

    mutating func parsePostfix(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            let pos = current.pos
            if isOp(".") {
                advance()
                switch current.kind {
                case .name(let n):
                    advance()
                    node = Expr(.getattr(node, n), pos)
                case .int(let v):
                    advance()
                    node = Expr(.getitem(node, Expr(.literal(.int(v)), pos)), pos)
                default:
                    throw fail("expected name or number")
                }
            } else if isOp("[") {
                advance()
                var args: [Expr] = []
                while !isOp("]") {
                    if !args.isEmpty { try expectOp(",") }
                    args.append(try parseSubscribed())
                }
                advance()
                let arg = args.count == 1 ? args[0] : Expr(.tuple(args), pos)
                node = Expr(.getitem(node, arg), pos)
            } else if isOp("(") {
                // errors in a call point at the start of the callee (`raise_exception(...)`)
                node = Expr(.call(node, try parseCallArgs()), node.pos)
            } else {
                return node
            }
        }
    }

    mutating func parseSubscribed() throws -> Expr {
        let pos = current.pos
        var parts: [Expr?] = []
        if isOp(":") {
            advance()
            parts = [nil]
        } else {
            let node = try parseExpression()
            if !isOp(":") { return node }
            advance()
            parts = [node]
        }
        if isOp(":") || isOp("]") || isOp(",") {
            parts.append(nil)
        } else {
            parts.append(try parseExpression())
        }
        if isOp(":") {
            advance()
            if isOp("]") || isOp(",") { parts.append(nil) } else { parts.append(try parseExpression()) }
        } else {
            parts.append(nil)
        }
        return Expr(.slice(parts[0], parts[1], parts[2]), pos)
    }

    mutating func parseCallArgs() throws -> [Arg] {
        try expectOp("(")
        var args: [Arg] = []
        var sawKeyword = false
        while !isOp(")") {
            if !args.isEmpty {
                try expectOp(",")
                if isOp(")") { break }
            }
            if isOp("*") {
                advance()
                args.append(.star(try parseExpression()))
            } else if isOp("**") {
                advance()
                args.append(.starStar(try parseExpression()))
            } else if case .name(let n) = current.kind, case .op("=") = peek().kind {
                advance()
                advance()
                args.append(.keyword(n, try parseExpression()))
                sawKeyword = true
            } else {
                if sawKeyword { throw fail("Invalid argument syntax") }
                args.append(.positional(try parseExpression()))
            }
        }
        advance()
        return args
    }

    mutating func parseFilterExpr(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            if isOp("|") {
                node = try parseFilterChain(node, startInline: false, single: true)!
            } else if isName("is") {
                node = try parseTest(node)
            } else if isOp("(") {
                node = Expr(.call(node, try parseCallArgs()), node.pos)
            } else {
                return node
            }
        }
    }

    /// Parses `| f(args) | g ...` (or, with `startInline`, `f(args) | g ...` as in filter blocks).
    mutating func parseFilterChain(_ base: Expr?, startInline: Bool, single: Bool = false) throws -> Expr? {
        var node = base
        var inline = startInline
        while isOp("|") || inline {
            if !inline { advance() }
            inline = false
            let pos = current.pos
            var name = try expectName()
            while isOp(".") {
                advance()
                name += "." + (try expectName())
            }
            if conditionalDepth == 0 && !Filters.known.contains(name) {
                throw fail("No filter named '\(name)'.", pos)
            }
            var args: [Arg] = []
            if isOp("(") { args = try parseCallArgs() }
            node = Expr(.filter(node, name, args), pos)
            if single { break }
        }
        return node
    }

    mutating func parseTest(_ node: Expr) throws -> Expr {
        let pos = current.pos
        advance()  // is
        let negated = skipName("not")
        var name = try expectName()
        while isOp(".") {
            advance()
            name += "." + (try expectName())
        }
        if conditionalDepth == 0 && !Tests.known.contains(name) {
            throw fail("No test named '\(name)'.", pos)
        }
        var args: [Arg] = []
        if isOp("(") {
            args = try parseCallArgs()
        } else {
            var startsArg = false
            switch current.kind {
            case .name(let n): startsArg = !["else", "or", "and"].contains(n)
            case .string, .int, .float, .op("["), .op("{"): startsArg = true
            case .op("("): startsArg = true
            default: break
            }
            if startsArg {
                if isName("is") { throw fail("You cannot chain multiple tests with is") }
                var arg = try parsePrimary()
                arg = try parsePostfix(arg)
                args = [.positional(arg)]
            }
        }
        return Expr(.test(node, name, args, negated: negated), pos)
    }
}
