import Foundation

/// A variable scope. Loops, macros and `with` blocks open a child scope; `set` writes into the
/// innermost scope (so a `set` inside a loop is not visible after it, as in jinja2).
final class Scope {
    var vars: [String: Value] = [:]
    let parent: Scope?
    init(parent: Scope?) { self.parent = parent }

    func lookup(_ name: String) -> Value? {
        var s: Scope? = self
        while let cur = s {
            if let v = cur.vars[name] { return v }
            s = cur.parent
        }
        return nil
    }
}

enum Flow {
    case normal, breakLoop, continueLoop
}

/// Evaluates a parsed template against a context. One interpreter per render call.
final class Interpreter {
    var callDepth = 0
    static let maxCallDepth = 100
    /// Guards against runaway output (e.g. a recursive macro that doubles its output).
    static let maxOutput = 64 << 20

    init() {}

    func error(_ e: ValueError, _ pos: SourcePos) -> TemplateError {
        TemplateError(kind: e.kind, message: e.message, line: pos.line, column: pos.column)
    }

    // MARK: statements

    func exec(_ nodes: [Node], _ scope: Scope, _ out: inout String) throws -> Flow {
        for node in nodes {
            let f = try exec(node, scope, &out)
            if f != .normal { return f }
        }
        return .normal
    }

    func exec(_ node: Node, _ scope: Scope, _ out: inout String) throws -> Flow {
        do {
            return try execInner(node, scope, &out)
        } catch let e as ValueError {
            // safety net: errors not yet tied to an expression get the statement's position
            throw error(e, node.pos)
        }
    }

    private func execInner(_ node: Node, _ scope: Scope, _ out: inout String) throws -> Flow {
        switch node {
        case .text(let s):
            out += s
        case .output(let e):
            let v = try eval(e, scope)
            out += pyStr(v)
            if out.utf8.count > Interpreter.maxOutput {
                throw TemplateError(kind: .overflow, message: "rendered output too large", line: e.pos.line, column: e.pos.column)
            }
        case .ifStmt(let branches, let elseBody):
            for (test, body) in branches where try eval(test, scope).truthy {
                return try exec(body, scope, &out)
            }
            return try exec(elseBody, scope, &out)
        case .forStmt(let target, let iterExpr, let filter, let body, let elseBody, let recursive, let pos):
            let iterable = try eval(iterExpr, scope)
            try runFor(target: target, iterable: iterable, filter: filter, body: body, elseBody: elseBody,
                       recursive: recursive, depth0: 0, pos: pos, scope: scope, out: &out)
        case .set(let target, let e, let pos):
            let v = try eval(e, scope)
            try assign(target, v, scope, pos)
        case .setBlock(let target, let filter, let body, let pos):
            var captured = ""
            _ = try exec(body, Scope(parent: scope), &captured)
            var v = Value.string(captured)
            if let filter { v = try applyFilterChain(filter, to: v, scope) }
            try assign(target, v, scope, pos)
        case .macro(let def):
            scope.vars[def.name] = makeMacro(def, closure: scope)
        case .callBlock(let callExpr, let callerDef):
            guard case .call(let callee, let args) = callExpr.kind else { return .normal }
            let caller = makeMacro(callerDef, closure: scope)
            let fn = try eval(callee, scope)
            var cargs = try evalArgs(args, scope)
            cargs.keywords.append(("caller", caller))
            let v = try call(fn, cargs, callExpr.pos)
            out += pyStr(v)
        case .filterBlock(let filter, let body):
            var captured = ""
            _ = try exec(body, Scope(parent: scope), &captured)
            out += pyStr(try applyFilterChain(filter, to: .string(captured), scope))
        case .breakStmt:
            return .breakLoop
        case .continueStmt:
            return .continueLoop
        case .with(let assignments, let body, let pos):
            let inner = Scope(parent: scope)
            for (t, e) in assignments {
                let v = try eval(e, scope)
                try assign(t, v, inner, pos)
            }
            return try exec(body, inner, &out)
        case .generation(let body):
            return try exec(body, scope, &out)
        }
        return .normal
    }

    func runFor(target: AssignTarget, iterable: Value, filter: Expr?, body: [Node], elseBody: [Node], recursive: Bool,
                depth0: Int, pos: SourcePos, scope: Scope, out: inout String) throws
    {
        var items: [Value]
        do { items = try iterate(iterable) } catch let e as ValueError { throw error(e, pos) }
        if let filter {
            var kept: [Value] = []
            for item in items {
                let filterScope = Scope(parent: scope)
                try assign(target, item, filterScope, pos)
                if try eval(filter, filterScope).truthy { kept.append(item) }
            }
            items = kept
        }
        let loop = LoopBox(items: items, depth0: depth0)
        if recursive {
            loop.recurse = Callable("loop") { [unowned self] args, _ in
                guard let next = args.positional.first else {
                    throw ValueError(.type, "loop() missing required argument")
                }
                var sub = ""
                try self.enterCall(pos)
                defer { self.callDepth -= 1 }
                try self.runFor(target: target, iterable: next, filter: filter, body: body, elseBody: [],
                                recursive: true, depth0: depth0 + 1, pos: pos, scope: scope, out: &sub)
                return .string(sub)
            }
        }
        // Every iteration starts from a fresh scope: a `set` in the body is not visible in the
        // next iteration nor after the loop (jinja2 semantics).
        for (n, item) in items.enumerated() {
            loop.index0 = n
            let iterScope = Scope(parent: scope)
            iterScope.vars["loop"] = .loop(loop)
            try assign(target, item, iterScope, pos)
            let f = try exec(body, iterScope, &out)
            if f == .breakLoop { break }
        }
        if items.isEmpty {
            _ = try exec(elseBody, Scope(parent: scope), &out)
        }
    }

    func enterCall(_ pos: SourcePos) throws {
        callDepth += 1
        if callDepth > Interpreter.maxCallDepth {
            callDepth -= 1
            throw TemplateError(kind: .runtime, message: "maximum recursion depth exceeded", line: pos.line, column: pos.column)
        }
    }

    func assign(_ target: AssignTarget, _ value: Value, _ scope: Scope, _ pos: SourcePos) throws {
        switch target {
        case .name(let n):
            scope.vars[n] = value
        case .tuple(let targets):
            let items: [Value]
            do { items = try iterate(value) } catch let e as ValueError { throw error(e, pos) }
            if items.count < targets.count {
                throw TemplateError(kind: .value, message: "not enough values to unpack (expected \(targets.count), got \(items.count))",
                                    line: pos.line, column: pos.column)
            }
            if items.count > targets.count {
                throw TemplateError(kind: .value, message: "too many values to unpack (expected \(targets.count))",
                                    line: pos.line, column: pos.column)
            }
            for (t, v) in zip(targets, items) { try assign(t, v, scope, pos) }
        case .attr(let ns, let attr):
            guard let obj = scope.lookup(ns), case .namespace(let box) = obj else {
                throw TemplateError(kind: .runtime, message: "cannot assign attribute on non-namespace object",
                                    line: pos.line, column: pos.column)
            }
            box.set(attr, value)
        }
    }

    func makeMacro(_ def: MacroDef, closure: Scope) -> Value {
        let usage = MacroUsage(def)
        let c = Callable("macro:" + def.name) { [unowned self] args, _ in
            try self.enterCall(def.pos)
            defer { self.callDepth -= 1 }
            let scope = Scope(parent: closure)
            let names = def.params.map(\.name)
            var extra: [Value] = []
            for (i, v) in args.positional.enumerated() {
                if i < names.count { scope.vars[names[i]] = v } else { extra.append(v) }
            }
            if !extra.isEmpty && !usage.varargs {
                throw ValueError(.type, "macro '\(def.name)' takes not more than \(names.count) argument(s)")
            }
            let kwargs = DictBox()
            var callerValue: Value? = nil
            for (k, v) in args.keywords {
                if names.contains(k) {
                    if let i = names.firstIndex(of: k), i < args.positional.count {
                        throw ValueError(.type, "macro '\(def.name)' got multiple values for argument '\(k)'")
                    }
                    scope.vars[k] = v
                } else if k == "caller" {
                    callerValue = v
                } else if usage.kwargs {
                    kwargs.set(k, v)
                } else {
                    throw ValueError(.type, "macro '\(def.name)' takes no keyword argument '\(k)'")
                }
            }
            if callerValue != nil && !usage.caller && def.name != "caller" {
                throw ValueError(.type, "macro '\(def.name)' takes no keyword argument 'caller'")
            }
            for p in def.params where scope.vars[p.name] == nil {
                if let d = p.defaultValue {
                    scope.vars[p.name] = try self.eval(d, scope)
                } else {
                    scope.vars[p.name] = .undefined(Undef(hint: "parameter '\(p.name)' was not provided"))
                }
            }
            scope.vars["varargs"] = .tuple(extra)
            scope.vars["kwargs"] = .dict(kwargs)
            if let callerValue { scope.vars["caller"] = callerValue }
            var out = ""
            _ = try self.exec(def.body, scope, &out)
            return .string(out)
        }
        return .callable(c)
    }

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
            let r = try Tests.apply(name, v, try evalArgs(args, scope), self)
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

    // MARK: operators

    func negate(_ v: Value) throws -> Value {
        switch v {
        case .undefined(let u): throw ValueError(.undefined, u.hint)
        case .bool(let b): return .int(b ? -1 : 0)
        case .int(let i):
            let (r, o) = (0).subtractingReportingOverflow(i)
            if o { throw ValueError(.overflow, "integer overflow") }
            return .int(r)
        case .double(let d): return .double(-d)
        default: throw ValueError(.type, "bad operand type for unary -: '\(v.typeName)'")
        }
    }

    func binary(_ op: BinaryOp, _ a: Value, _ b: Value) throws -> Value {
        if op == .concat { return .string(pyStr(a) + pyStr(b)) }
        if op == .mod, case .string(let fmt) = a { return .string(try percentFormat(fmt, b)) }
        if case .undefined(let u) = a { throw ValueError(.undefined, u.hint) }
        if case .undefined(let u) = b { throw ValueError(.undefined, u.hint) }
        let unsupported = ValueError(.type, "unsupported operand type(s) for \(op.rawValue == "**" ? "** or pow()" : op.rawValue): '\(a.typeName)' and '\(b.typeName)'")
        if let x = a.asNumber, let y = b.asNumber {
            return try arith(op, x, y)
        }
        switch op {
        case .add:
            switch (a, b) {
            case (.string(let x), .string(let y)): return .string(x + y)
            case (.list(let x), .list(let y)): return .list(ListBox(x.items + y.items))
            case (.tuple(let x), .tuple(let y)): return .tuple(x + y)
            case (.string, _): throw ValueError(.type, "can only concatenate str (not \"\(b.typeName)\") to str")
            case (.list, _): throw ValueError(.type, "can only concatenate list (not \"\(b.typeName)\") to list")
            case (.tuple, _): throw ValueError(.type, "can only concatenate tuple (not \"\(b.typeName)\") to tuple")
            default: throw unsupported
            }
        case .mul:
            func repeatCount(_ n: Value) -> Int? {
                if case .int(let i) = n.asNumber ?? .none { return max(0, i) }
                return nil
            }
            switch (a, b) {
            case (.string(let s), _) where repeatCount(b) != nil:
                let n = repeatCount(b)!
                if s.utf8.count * n > Interpreter.maxOutput { throw ValueError(.overflow, "repeated string is too long") }
                return .string(String(repeating: s, count: n))
            case (_, .string(let s)) where repeatCount(a) != nil:
                let n = repeatCount(a)!
                if s.utf8.count * n > Interpreter.maxOutput { throw ValueError(.overflow, "repeated string is too long") }
                return .string(String(repeating: s, count: n))
            case (.tuple(let t), _) where repeatCount(b) != nil:
                let n = repeatCount(b)!
                if t.count * n > 10_000_000 { throw ValueError(.overflow, "repeated tuple is too long") }
                return .tuple(Array([[Value]](repeating: t, count: n).joined()))
            case (_, .tuple(let t)) where repeatCount(a) != nil:
                let n = repeatCount(a)!
                if t.count * n > 10_000_000 { throw ValueError(.overflow, "repeated tuple is too long") }
                return .tuple(Array([[Value]](repeating: t, count: n).joined()))
            case (.list(let l), _) where repeatCount(b) != nil:
                let n = repeatCount(b)!
                if l.items.count * n > 10_000_000 { throw ValueError(.overflow, "repeated list is too long") }
                return .list(ListBox(Array([[Value]](repeating: l.items, count: n).joined())))
            case (_, .list(let l)) where repeatCount(a) != nil:
                let n = repeatCount(a)!
                if l.items.count * n > 10_000_000 { throw ValueError(.overflow, "repeated list is too long") }
                return .list(ListBox(Array([[Value]](repeating: l.items, count: n).joined())))
            default:
                func isSeq(_ v: Value) -> Bool {
                    switch v {
                    case .string, .list, .tuple: return true
                    default: return false
                    }
                }
                if isSeq(a) { throw ValueError(.type, "can't multiply sequence by non-int of type '\(b.typeName)'") }
                if isSeq(b) { throw ValueError(.type, "can't multiply sequence by non-int of type '\(a.typeName)'") }
                throw unsupported
            }
        case .mod:
            if case .string(let fmt) = a { return .string(try percentFormat(fmt, b)) }
            throw unsupported
        default:
            throw unsupported
        }
    }

    func arith(_ op: BinaryOp, _ x: Value, _ y: Value) throws -> Value {
        if case .int(let i) = x, case .int(let j) = y {
            switch op {
            case .add:
                let (r, o) = i.addingReportingOverflow(j)
                if o { throw ValueError(.overflow, "integer overflow") }
                return .int(r)
            case .sub:
                let (r, o) = i.subtractingReportingOverflow(j)
                if o { throw ValueError(.overflow, "integer overflow") }
                return .int(r)
            case .mul:
                let (r, o) = i.multipliedReportingOverflow(by: j)
                if o { throw ValueError(.overflow, "integer overflow") }
                return .int(r)
            case .div:
                if j == 0 { throw ValueError(.zeroDivision, "division by zero") }
                return .double(Double(i) / Double(j))
            case .floordiv:
                if j == 0 { throw ValueError(.zeroDivision, "integer division or modulo by zero") }
                if i == Int.min && j == -1 { throw ValueError(.overflow, "integer overflow") }
                var q = i / j
                if (i % j != 0) && ((i < 0) != (j < 0)) { q -= 1 }
                return .int(q)
            case .mod:
                if j == 0 { throw ValueError(.zeroDivision, "integer modulo by zero") }
                if j == -1 { return .int(0) }
                var r = i % j
                if r != 0 && ((r < 0) != (j < 0)) { r += j }
                return .int(r)
            case .pow:
                if j < 0 {
                    if i == 0 { throw ValueError(.zeroDivision, "0.0 cannot be raised to a negative power") }
                    return .double(Foundation.pow(Double(i), Double(j)))
                }
                var result = 1, base = i, e = j
                while e > 0 {
                    if e & 1 == 1 {
                        let (r, o) = result.multipliedReportingOverflow(by: base)
                        if o { throw ValueError(.overflow, "integer overflow") }
                        result = r
                    }
                    e >>= 1
                    if e > 0 {
                        let (r, o) = base.multipliedReportingOverflow(by: base)
                        if o { throw ValueError(.overflow, "integer overflow") }
                        base = r
                    }
                }
                return .int(result)
            case .concat:
                return .string(pyStr(x) + pyStr(y))
            }
        }
        let p = x.doubleValue, q = y.doubleValue
        switch op {
        case .add: return .double(p + q)
        case .sub: return .double(p - q)
        case .mul: return .double(p * q)
        case .div:
            if q == 0 { throw ValueError(.zeroDivision, "float division by zero") }
            return .double(p / q)
        case .floordiv:
            if q == 0 { throw ValueError(.zeroDivision, "float floor division by zero") }
            return .double(Foundation.floor(p / q))
        case .mod:
            if q == 0 { throw ValueError(.zeroDivision, "float modulo") }
            var r = Foundation.fmod(p, q)
            if r != 0 && ((r < 0) != (q < 0)) { r += q }
            return .double(r)
        case .pow:
            if p == 0 && q < 0 { throw ValueError(.zeroDivision, "0.0 cannot be raised to a negative power") }
            let r = Foundation.pow(p, q)
            if r.isInfinite && p.isFinite && q.isFinite { throw ValueError(.overflow, "(34, 'Numerical result out of range')") }
            if r.isNaN && !p.isNaN && !q.isNaN { throw ValueError(.value, "math domain error") }
            return .double(r)
        case .concat:
            return .string(pyStr(x) + pyStr(y))
        }
    }

    func compare(_ op: CompareOp, _ a: Value, _ b: Value) throws -> Bool {
        switch op {
        case .eq: return pyEqual(a, b)
        case .ne: return !pyEqual(a, b)
        case .lt, .le, .gt, .ge:
            if case .undefined(let u) = a { throw ValueError(.undefined, u.hint) }
            if case .undefined(let u) = b { throw ValueError(.undefined, u.hint) }
            let c = try pyCompare(a, b, op: op.rawValue)
            if c == 2 { return false }
            switch op {
            case .lt: return c < 0
            case .le: return c <= 0
            case .gt: return c > 0
            default: return c >= 0
            }
        case .in: return try contains(b, a)
        case .notIn: return !(try contains(b, a))
        }
    }

    func contains(_ container: Value, _ item: Value) throws -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let sub) = item else {
                if case .undefined(let u) = item { throw ValueError(.undefined, u.hint) }
                throw ValueError(.type, "'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return sub.isEmpty || pyFind(s, sub) >= 0
        case .list(let l): return l.items.contains { pyEqual($0, item) }
        case .tuple(let t): return t.contains { pyEqual($0, item) }
        case .dict(let d):
            try checkHashable(item)
            return d.get(item) != nil
        case .undefined: return false
        case .iterator(let it):
            while let x = try it.next() {
                if pyEqual(x, item) { return true }
            }
            return false
        case .namespace: throw ValueError(.type, "argument of type 'Namespace' is not iterable")
        default: throw ValueError(.type, "argument of type '\(container.typeName)' is not iterable")
        }
    }

    func percentFormat(_ fmt: String, _ arg: Value) throws -> String {
        try PercentFormat.format(fmt, arg)
    }

    // MARK: access

    func getAttr(_ obj: Value, _ name: String) throws -> Value {
        switch obj {
        case .undefined(let u):
            throw ValueError(.undefined, u.hint)
        case .dict(let d):
            if let m = Methods.dictMethod(d, name) { return m }
            return d.get(name) ?? .undefined(.attribute(of: obj, name))
        case .namespace(let d):
            return d.get(name) ?? .undefined(.attribute(of: obj, name))
        case .string(let s):
            return Methods.stringMethod(s, name) ?? .undefined(.attribute(of: obj, name))
        case .list(let l):
            return Methods.listMethod(l, name) ?? .undefined(.attribute(of: obj, name))
        case .loop(let l):
            return loopAttr(l, name) ?? .undefined(.attribute(of: obj, name))
        case .int, .double, .bool:
            return Methods.numberMethod(obj, name) ?? .undefined(.attribute(of: obj, name))
        case .tuple(let t):
            return Methods.listMethod(ListBox(t), name, tuple: true) ?? .undefined(.attribute(of: obj, name))
        default:
            return .undefined(.attribute(of: obj, name))
        }
    }

    func getItem(_ obj: Value, _ key: Value) throws -> Value {
        switch obj {
        case .undefined(let u):
            throw ValueError(.undefined, u.hint)
        case .dict(let d):
            if let v = d.get(key) { return v }
            if case .string(let s) = key, let m = Methods.dictMethod(d, s) { return m }
            return .undefined(.element(of: obj, key))
        case .list, .tuple, .string:
            if case .int(let i) = key.asNumber ?? .none, !(isBoolValue(key) && false) {
                let count: Int
                switch obj {
                case .list(let l): count = l.items.count
                case .tuple(let t): count = t.count
                case .string(let s): count = s.unicodeScalars.count
                default: count = 0
                }
                let idx = i < 0 ? i + count : i
                guard idx >= 0 && idx < count else { return .undefined(.element(of: obj, key)) }
                switch obj {
                case .list(let l): return l.items[idx]
                case .tuple(let t): return t[idx]
                case .string(let s):
                    let sc = s.unicodeScalars
                    return .string(String(sc[sc.index(sc.startIndex, offsetBy: idx)]))
                default: break
                }
            }
            if case .string(let s) = key { return try getAttr(obj, s) }
            return .undefined(.element(of: obj, key))
        default:
            if case .string(let s) = key { return try getAttr(obj, s) }
            return .undefined(.element(of: obj, key))
        }
    }

    func isBoolValue(_ v: Value) -> Bool {
        if case .bool = v { return true }
        return false
    }

    func loopAttr(_ l: LoopBox, _ name: String) -> Value? {
        let n = l.items.count
        switch name {
        case "index": return .int(l.index0 + 1)
        case "index0": return .int(l.index0)
        case "revindex": return .int(n - l.index0)
        case "revindex0": return .int(n - l.index0 - 1)
        case "first": return .bool(l.index0 == 0)
        case "last": return .bool(l.index0 == n - 1)
        case "length": return .int(n)
        case "depth": return .int(l.depth0 + 1)
        case "depth0": return .int(l.depth0)
        case "previtem":
            return l.index0 > 0 ? l.items[l.index0 - 1] : .undefined(Undef(hint: "there is no previous item"))
        case "nextitem":
            return l.index0 + 1 < n ? l.items[l.index0 + 1] : .undefined(Undef(hint: "there is no next item"))
        case "cycle":
            return .callable(Callable("cycle") { args, _ in
                if args.positional.isEmpty { throw ValueError(.type, "no items for cycling given") }
                return args.positional[l.index0 % args.positional.count]
            })
        case "changed":
            return .callable(Callable("changed") { args, _ in
                let vals = args.positional
                if let last = l.lastChanged, last.count == vals.count, zip(last, vals).allSatisfy({ pyEqual($0, $1) }) {
                    return .bool(false)
                }
                l.lastChanged = vals
                return .bool(true)
            })
        default: return nil
        }
    }

    /// Python iteration: lists, tuples, dict keys, string characters; undefined iterates as empty.
    func iterate(_ v: Value) throws -> [Value] {
        switch v {
        case .list(let l): return l.items
        case .tuple(let t): return t
        case .dict(let d): return d.keys
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        case .iterator(let it): return try it.drain()
        default: throw ValueError(.type, "'\(v.typeName)' object is not iterable")
        }
    }

    func sliceValue(_ obj: Value, _ start: Value?, _ stop: Value?, _ step: Value?) throws -> Value {
        func intOrNil(_ v: Value?) throws -> Int? {
            guard let v else { return nil }
            if case .none = v { return nil }
            if case .int(let i) = v.asNumber ?? .none { return i }
            throw ValueError(.type, "slice indices must be integers or None or have an __index__ method")
        }
        let st = try intOrNil(step) ?? 1
        if st == 0 { throw ValueError(.value, "slice step cannot be zero") }
        let count: Int
        switch obj {
        case .list(let l): count = l.items.count
        case .tuple(let t): count = t.count
        case .string(let s): count = s.unicodeScalars.count
        default:
            return .undefined(Undef(hint: "'\(objectTypeRepr(obj))' has no element slice"))
        }
        func adjust(_ v: Int?, _ def: Int, lower: Int, upper: Int) -> Int {
            guard var x = v else { return def }
            if x < 0 { x += count; if x < lower { x = lower } } else if x > upper { x = upper }
            return x
        }
        var indices: [Int] = []
        if st > 0 {
            let a = adjust(try intOrNil(start), 0, lower: 0, upper: count)
            let b = adjust(try intOrNil(stop), count, lower: 0, upper: count)
            var i = a
            while i < b { indices.append(i); i += st }
        } else {
            let a = adjust(try intOrNil(start), count - 1, lower: -1, upper: count - 1)
            let b = adjust(try intOrNil(stop), -1, lower: -1, upper: count - 1)
            var i = a
            while i > b { indices.append(i); i += st }
        }
        switch obj {
        case .list(let l): return .list(ListBox(indices.map { l.items[$0] }))
        case .tuple(let t): return .tuple(indices.map { t[$0] })
        case .string(let s):
            let sc = Array(s.unicodeScalars)
            return .string(String(scalars: indices.map { sc[$0] }))
        default: return .none
        }
    }
}

/// Which special names a macro body refers to (jinja2 only accepts extra positional/keyword
/// arguments and `caller` when the body uses `varargs` / `kwargs` / `caller`).
struct MacroUsage {
    var varargs = false
    var kwargs = false
    var caller = false

    init(_ def: MacroDef) {
        var names = Set<String>()
        collectNames(def.body, into: &names)
        for p in def.params { if let d = p.defaultValue { collectNames(d, into: &names) } }
        varargs = names.contains("varargs")
        kwargs = names.contains("kwargs")
        caller = names.contains("caller") || def.params.contains { $0.name == "caller" }
    }
}

func collectNames(_ nodes: [Node], into names: inout Set<String>) {
    for n in nodes {
        switch n {
        case .text, .breakStmt, .continueStmt: break
        case .output(let e): collectNames(e, into: &names)
        case .ifStmt(let branches, let elseBody):
            for (t, b) in branches { collectNames(t, into: &names); collectNames(b, into: &names) }
            collectNames(elseBody, into: &names)
        case .forStmt(_, let iter, let filter, let body, let elseBody, _, _):
            collectNames(iter, into: &names)
            if let filter { collectNames(filter, into: &names) }
            collectNames(body, into: &names)
            collectNames(elseBody, into: &names)
        case .set(_, let e, _): collectNames(e, into: &names)
        case .setBlock(_, let f, let body, _):
            if let f { collectNames(f, into: &names) }
            collectNames(body, into: &names)
        case .macro: break  // nested macros have their own scope
        case .callBlock(let c, let caller):
            collectNames(c, into: &names)
            collectNames(caller.body, into: &names)
        case .filterBlock(let f, let body):
            collectNames(f, into: &names)
            collectNames(body, into: &names)
        case .with(let a, let body, _):
            for (_, e) in a { collectNames(e, into: &names) }
            collectNames(body, into: &names)
        case .generation(let body): collectNames(body, into: &names)
        }
    }
}

func collectNames(_ e: Expr, into names: inout Set<String>) {
    func args(_ a: [Arg]) {
        for x in a {
            switch x {
            case .positional(let e), .keyword(_, let e), .star(let e), .starStar(let e): collectNames(e, into: &names)
            }
        }
    }
    switch e.kind {
    case .literal: break
    case .name(let n): names.insert(n)
    case .list(let items), .tuple(let items): for i in items { collectNames(i, into: &names) }
    case .dict(let pairs): for (k, v) in pairs { collectNames(k, into: &names); collectNames(v, into: &names) }
    case .getattr(let o, _): collectNames(o, into: &names)
    case .getitem(let o, let k): collectNames(o, into: &names); collectNames(k, into: &names)
    case .slice(let a, let b, let c): for x in [a, b, c] { if let x { collectNames(x, into: &names) } }
    case .call(let f, let a): collectNames(f, into: &names); args(a)
    case .filter(let b, _, let a): if let b { collectNames(b, into: &names) }; args(a)
    case .test(let b, _, let a, _): collectNames(b, into: &names); args(a)
    case .not(let x), .neg(let x), .pos(let x): collectNames(x, into: &names)
    case .binary(_, let l, let r), .and(let l, let r), .or(let l, let r):
        collectNames(l, into: &names); collectNames(r, into: &names)
    case .compare(let f, let ops): collectNames(f, into: &names); for (_, x) in ops { collectNames(x, into: &names) }
    case .cond(let t, let a, let b):
        collectNames(t, into: &names); collectNames(a, into: &names); if let b { collectNames(b, into: &names) }
    }
}
