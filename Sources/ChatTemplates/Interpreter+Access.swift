/// Attribute and item access, `loop.*`, iteration and slicing with Python rules.
extension Interpreter {
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
