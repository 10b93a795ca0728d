/// Expression grammar (jinja2 precedence): condexpr, or, and, not, compare, + -, ~, * / // %, **,
/// unary, primary, postfix, filters and tests.
extension Parser {
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
        if conditionalDepth == 0 && !JinjaTests.known.contains(name) {
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
