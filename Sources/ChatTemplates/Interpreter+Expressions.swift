import Foundation

/// Expression evaluation: names, literals, calls, filters and tests.
extension Interpreter {
    // MARK: expressions

    func eval(_ e: Expr, _ scope: Scope) throws -> Value {
        do {
            return try evalInner(e, scope)
        } catch let err as ValueError {
            throw error(err, e.pos)
        }
    }

    private func evalInner(_ e: Expr, _ scope: Scope) throws -> Value {
        switch e.kind {
        case .literal(let l):
            switch l {
            case .none: return .none
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .double(let d): return .double(d)
            case .string(let s): return .string(s)
            }
        case .name(let n):
            return scope.lookup(n) ?? .undefined(.name(n))
        case .list(let items):
            return .list(ListBox(try items.map { try eval($0, scope) }))
        case .tuple(let items):
            return .tuple(try items.map { try eval($0, scope) })
        case .dict(let pairs):
            let d = DictBox()
            for (k, v) in pairs {
                let key = try eval(k, scope)
                try checkHashable(key)
                d.set(key, try eval(v, scope))
            }
            return .dict(d)
        case .getattr(let obj, let name):
            return try getAttr(try eval(obj, scope), name)
        case .getitem(let obj, let keyExpr):
            let o = try eval(obj, scope)
            if case .slice(let a, let b, let c) = keyExpr.kind {
                if case .undefined(let u) = o { throw ValueError(.undefined, u.hint) }
                let start = try a.map { try eval($0, scope) }
                let stop = try b.map { try eval($0, scope) }
                let step = try c.map { try eval($0, scope) }
                return try sliceValue(o, start, stop, step)
            }
            return try getItem(o, try eval(keyExpr, scope))
        case .slice:
            throw ValueError(.syntax, "slice outside subscript")
        case .call(let callee, let args):
            let fn = try eval(callee, scope)
            return try call(fn, try evalArgs(args, scope), e.pos)
        case .filter(let base, let name, let args):
            let v = try base.map { try eval($0, scope) } ?? .string("")
            return try Filters.apply(name, v, try evalArgs(args, scope), self, e.pos)
        case .test(let base, let name, let args, let negated):
            let v = try eval(base, scope)
            let r = try JinjaTests.apply(name, v, try evalArgs(args, scope), self)
            return .bool(negated ? !r : r)
        case .not(let x):
            return .bool(!(try eval(x, scope).truthy))
        case .neg(let x):
            return try negate(try eval(x, scope))
        case .pos(let x):
            let v = try eval(x, scope)
            if case .undefined(let u) = v { throw ValueError(.undefined, u.hint) }
            guard let n = v.asNumber else { throw ValueError(.type, "bad operand type for unary +: '\(v.typeName)'") }
            return n
        case .binary(let op, let l, let r):
            return try binary(op, try eval(l, scope), try eval(r, scope))
        case .and(let l, let r):
            let a = try eval(l, scope)
            return a.truthy ? try eval(r, scope) : a
        case .or(let l, let r):
            let a = try eval(l, scope)
            return a.truthy ? a : try eval(r, scope)
        case .compare(let first, let ops):
            var left = try eval(first, scope)
            for (op, rexpr) in ops {
                let right = try eval(rexpr, scope)
                if !(try compare(op, left, right)) { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .cond(let test, let then, let els):
            if try eval(test, scope).truthy { return try eval(then, scope) }
            if let els { return try eval(els, scope) }
            return .undefined(Undef(hint: "the inline if-expression on line \(e.pos.line) evaluated to false and no else section was defined."))
        }
    }

    func applyFilterChain(_ f: Expr, to value: Value, _ scope: Scope) throws -> Value {
        guard case .filter(let base, let name, let args) = f.kind else { return value }
        let inner = try base.map { try applyFilterChain($0, to: value, scope) } ?? value
        do {
            return try Filters.apply(name, inner, try evalArgs(args, scope), self, f.pos)
        } catch let err as ValueError {
            throw error(err, f.pos)
        }
    }

    func evalArgs(_ args: [Arg], _ scope: Scope) throws -> CallArgs {
        var out = CallArgs()
        for a in args {
            switch a {
            case .positional(let e): out.positional.append(try eval(e, scope))
            case .keyword(let k, let e): out.keywords.append((k, try eval(e, scope)))
            case .star(let e): out.positional.append(contentsOf: try iterate(try eval(e, scope)))
            case .starStar(let e):
                let v = try eval(e, scope)
                guard case .dict(let d) = v else { throw ValueError(.type, "argument after ** must be a mapping, not \(v.typeName)") }
                for (k, val) in d.pairs {
                    guard case .string(let ks) = k else { throw ValueError(.type, "keywords must be strings") }
                    out.keywords.append((ks, val))
                }
            }
        }
        return out
    }

    func call(_ fn: Value, _ args: CallArgs, _ pos: SourcePos) throws -> Value {
        switch fn {
        case .callable(let c):
            do {
                return try c.fn(args, self)
            } catch let e as ValueError {
                throw error(e, pos)
            }
        case .loop(let l):
            guard let r = l.recurse else {
                throw error(ValueError(.type, "Tried to call non recursive loop.  Maybe you forgot the 'recursive' modifier."), pos)
            }
            return try call(.callable(r), args, pos)
        case .undefined(let u):
            throw error(ValueError(.undefined, u.hint), pos)
        default:
            throw error(ValueError(.type, "'\(fn.typeName)' object is not callable"), pos)
        }
    }

    func checkHashable(_ v: Value) throws {
        switch v {
        case .list, .dict, .namespace: throw ValueError(.type, "unhashable type: '\(v.typeName)'")
        case .undefined(let u): throw ValueError(.undefined, u.hint)
        default: break
        }
    }
}
