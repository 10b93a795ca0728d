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
