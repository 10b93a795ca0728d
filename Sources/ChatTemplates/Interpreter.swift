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
}
