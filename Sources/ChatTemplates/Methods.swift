/// Python methods reachable from templates: `s.strip()`, `d.get(k, default)`, `list.append(x)` ...
enum Methods {
    static func method(_ name: String, _ fn: @escaping (CallArgs) throws -> Value) -> Value {
        .callable(Callable(name) { args, _ in try fn(args) })
    }

    static func unsafe(_ name: String, _ type: String) -> Value {
        method(name) { _ in throw ValueError(.security, "access to attribute '\(name)' of '\(type)' object is unsafe.") }
    }

    static func str(_ v: Value?, _ what: String) throws -> String {
        guard let v else { throw ValueError(.type, "\(what)() missing required argument") }
        guard case .string(let s) = v else {
            if case .undefined(let u) = v { throw ValueError(.undefined, u.hint) }
            throw ValueError(.type, "must be str, not \(v.typeName)")
        }
        return s
    }

    static func optInt(_ v: Value?, _ def: Int) throws -> Int {
        guard let v else { return def }
        if case .none = v { return def }
        guard case .int(let i) = v.asNumber ?? .none else {
            throw ValueError(.type, "'\(v.typeName)' object cannot be interpreted as an integer")
        }
        return i
    }

    static func optChars(_ v: Value?) throws -> String? {
        guard let v else { return nil }
        switch v {
        case .none: return nil
        case .string(let s): return s
        default: throw ValueError(.type, "strip arg must be None or str")
        }
    }

    static func stringMethod(_ s: String, _ name: String) -> Value? {
        switch name {
        case "upper": return method(name) { _ in .string(s.uppercased()) }
        case "lower", "casefold": return method(name) { _ in .string(s.lowercased()) }
        case "title": return method(name) { _ in .string(pyTitleMethod(s)) }
        case "capitalize": return method(name) { _ in .string(pyCapitalize(s)) }
        case "swapcase":
            return method(name) { _ in
                .string(s.unicodeScalars.map { c in
                    let t = String(c)
                    return c.properties.isUppercase ? t.lowercased() : (c.properties.isLowercase ? t.uppercased() : t)
                }.joined())
            }
        case "strip", "lstrip", "rstrip":
            return method(name) { a in
                let b = try a.bind(name, ["chars"])
                return .string(pyStrip(s, chars: try optChars(b["chars"]), left: name != "rstrip", right: name != "lstrip"))
            }
        case "split", "rsplit":
            return method(name) { a in
                let b = try a.bind(name, ["sep", "maxsplit"])
                var sep: String? = nil
                if let v = b["sep"], !v.isNone { sep = try str(v, name) }
                let maxsplit = try optInt(b["maxsplit"], -1)
                let parts = name == "split" ? try pySplit(s, sep: sep, maxsplit: maxsplit) : try pyRsplit(s, sep: sep, maxsplit: maxsplit)
                return .list(ListBox(parts.map { .string($0) }))
            }
        case "splitlines":
            return method(name) { a in
                let keep = (a.positional.first ?? a.keyword("keepends"))?.truthy ?? false
                return .list(ListBox(pySplitlines(s, keepends: keep).map { .string($0) }))
            }
        case "startswith", "endswith":
            return method(name) { a in
                guard let p = a.positional.first else { throw ValueError(.type, "\(name)() takes at least 1 argument (0 given)") }
                var candidates: [String] = []
                switch p {
                case .string(let x): candidates = [x]
                case .tuple(let t):
                    for x in t { candidates.append(try str(x, name)) }
                default:
                    throw ValueError(.type, "\(name) first arg must be str or a tuple of str, not \(p.typeName)")
                }
                let sc = s.scalars
                let start = try optInt(a.positional.count > 1 ? a.positional[1] : nil, 0)
                let end = try optInt(a.positional.count > 2 ? a.positional[2] : nil, sc.count)
                func clamp(_ x: Int) -> Int { x < 0 ? max(0, x + sc.count) : min(x, sc.count) }
                let lo = clamp(start), hi = clamp(end)
                if lo > hi { return .bool(false) }
                let sub = Array(sc[lo..<hi])
                for c in candidates {
                    let cs = c.scalars
                    if cs.count > sub.count { continue }
                    if name == "startswith" ? Array(sub.prefix(cs.count)) == cs : Array(sub.suffix(cs.count)) == cs {
                        return .bool(true)
                    }
                }
                return .bool(false)
            }
        case "replace":
            return method(name) { a in
                let b = try a.bind(name, ["old", "new", "count"])
                return .string(pyReplace(s, try str(b["old"], name), try str(b["new"], name), count: try optInt(b["count"], -1)))
            }
        case "find", "rfind", "index", "rindex":
            return method(name) { a in
                let sub = try str(a.positional.first, name)
                let r = pyFind(s, sub, reverse: name.hasPrefix("r"))
                if r < 0 && name.hasSuffix("index") { throw ValueError(.value, "substring not found") }
                return .int(r)
            }
        case "count":
            return method(name) { a in .int(pyCount(s, try str(a.positional.first, name))) }
        case "join":
            return method(name) { a in
                guard let seq = a.positional.first else { throw ValueError(.type, "join() takes exactly one argument (0 given)") }
                let items: [Value]
                switch seq {
                case .list(let l): items = l.items
                case .tuple(let t): items = t
                case .string(let x): items = x.unicodeScalars.map { .string(String($0)) }
                case .dict(let d): items = d.keys
                default: throw ValueError(.type, "can only join an iterable")
                }
                var parts: [String] = []
                for (i, it) in items.enumerated() {
                    guard case .string(let x) = it else {
                        throw ValueError(.type, "sequence item \(i): expected str instance, \(it.typeName) found")
                    }
                    parts.append(x)
                }
                return .string(parts.joined(separator: s))
            }
        case "isdigit", "isnumeric", "isdecimal":
            return method(name) { _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType != nil }) }
        case "isalpha":
            return method(name) { _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(isPyAlpha)) }
        case "isalnum":
            return method(name) { _ in
                .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(isPyAlnum))
            }
        case "isspace":
            return method(name) { _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(isPySpace)) }
        case "isupper":
            return method(name) { _ in .bool(s.uppercased() == s && s.unicodeScalars.contains { $0.properties.isCased }) }
        case "islower":
            return method(name) { _ in .bool(s.lowercased() == s && s.unicodeScalars.contains { $0.properties.isCased }) }
        case "removeprefix", "removesuffix":
            return method(name) { a in
                let x = try str(a.positional.first, name)
                if name == "removeprefix" {
                    return .string(s.unicodeScalars.starts(with: x.unicodeScalars) ? String(scalars: s.scalars.dropFirst(x.unicodeScalars.count)) : s)
                }
                return .string(s.scalars.reversed().starts(with: x.scalars.reversed()) ? String(scalars: s.scalars.dropLast(x.unicodeScalars.count)) : s)
            }
        case "center", "ljust", "rjust":
            return method(name) { a in
                let w = try optInt(a.positional.first, 0)
                let fill = try a.positional.count > 1 ? str(a.positional[1], name) : " "
                let len = s.unicodeScalars.count
                if w <= len { return .string(s) }
                let total = w - len
                switch name {
                case "ljust": return .string(s + String(repeating: fill, count: total))
                case "rjust": return .string(String(repeating: fill, count: total) + s)
                default:
                    let left = total / 2 + (total & w & 1)
                    return .string(String(repeating: fill, count: left) + s + String(repeating: fill, count: total - left))
                }
            }
        case "zfill":
            return method(name) { a in
                let w = try optInt(a.positional.first, 0)
                var sc = s.scalars
                if w <= sc.count { return .string(s) }
                var sign: [Unicode.Scalar] = []
                if let f = sc.first, f == "-" || f == "+" { sign = [f]; sc.removeFirst() }
                return .string(String(scalars: sign + Array(repeating: "0", count: w - s.unicodeScalars.count) + sc))
            }
        case "partition", "rpartition":
            return method(name) { a in
                let sep = try str(a.positional.first, name)
                if sep.isEmpty { throw ValueError(.value, "empty separator") }
                let i = pyFind(s, sep, reverse: name == "rpartition")
                let sc = s.scalars
                if i < 0 {
                    return name == "partition" ? .tuple([.string(s), .string(""), .string("")]) : .tuple([.string(""), .string(""), .string(s)])
                }
                return .tuple([.string(String(scalars: sc[..<i])), .string(sep), .string(String(scalars: sc[(i + sep.unicodeScalars.count)...]))])
            }
        case "format":
            return method(name) { a in .string(try pyFormat(s, a)) }
        default:
            return nil
        }
    }

    static func dictMethod(_ d: DictBox, _ name: String) -> Value? {
        switch name {
        case "get":
            return method(name) { a in
                guard let k = a.positional.first else { throw ValueError(.type, "get expected at least 1 argument, got 0") }
                if case .list = k { throw ValueError(.type, "unhashable type: 'list'") }
                if case .dict = k { throw ValueError(.type, "unhashable type: 'dict'") }
                return d.get(k) ?? (a.positional.count > 1 ? a.positional[1] : .none)
            }
        case "items": return method(name) { _ in .list(ListBox(d.pairs.map { .tuple([$0.0, $0.1]) })) }
        case "keys": return method(name) { _ in .list(ListBox(d.keys)) }
        case "values": return method(name) { _ in .list(ListBox(d.values)) }
        case "copy": return method(name) { _ in .dict(d.copy()) }
        case "update", "pop", "popitem", "clear", "setdefault":
            return unsafe(name, "dict")
        default: return nil
        }
    }

    static func listMethod(_ l: ListBox, _ name: String, tuple: Bool = false) -> Value? {
        if tuple && !["index", "count"].contains(name) { return nil }
        switch name {
        case "append":
            // Note: Hugging Face's ImmutableSandboxedEnvironment refuses this; we allow it because
            // accumulating into a list is a common template idiom outside transformers.
            return method(name) { a in
                guard a.positional.count == 1 else { throw ValueError(.type, "list.append() takes exactly one argument (\(a.positional.count) given)") }
                l.items.append(a.positional[0])
                return .none
            }
        case "index":
            return method(name) { a in
                guard let x = a.positional.first else { throw ValueError(.type, "index expected at least 1 argument, got 0") }
                guard let i = l.items.firstIndex(where: { pyEqual($0, x) }) else {
                    throw ValueError(.value, tuple ? "tuple.index(x): x not in tuple" : "\(pyRepr(x)) is not in list")
                }
                return .int(i)
            }
        case "count":
            return method(name) { a in
                guard let x = a.positional.first else { throw ValueError(.type, "count() takes exactly one argument (0 given)") }
                return .int(l.items.filter { pyEqual($0, x) }.count)
            }
        case "copy": return method(name) { _ in .list(ListBox(l.items)) }
        case "extend", "insert", "pop", "remove", "reverse", "sort", "clear":
            return unsafe(name, "list")
        default: return nil
        }
    }

    static func numberMethod(_ v: Value, _ name: String) -> Value? {
        switch (v, name) {
        case (.double(let d), "is_integer"): return method(name) { _ in .bool(d.rounded() == d && d.isFinite) }
        default: return nil
        }
    }
}

/// `str.format` with auto/explicit positional fields, keyword fields, `!r`/`!s` and `{{`/`}}`
/// (format specs are not supported).
func pyFormat(_ fmt: String, _ args: CallArgs) throws -> String {
    let sc = fmt.scalars
    var out = ""
    var i = 0
    var auto = 0
    while i < sc.count {
        let c = sc[i]
        if c == "{" {
            if i + 1 < sc.count, sc[i + 1] == "{" { out += "{"; i += 2; continue }
            guard let close = sc[i...].firstIndex(of: "}") else { throw ValueError(.value, "Single '{' encountered in format string") }
            var field = String(scalars: sc[(i + 1)..<close])
            var conv: String? = nil
            if let bang = field.firstIndex(of: "!") {
                conv = String(field[field.index(after: bang)...])
                field = String(field[..<bang])
            }
            if field.contains(":") { throw ValueError(.value, "format specifications are not supported") }
            let v: Value
            if field.isEmpty {
                guard auto < args.positional.count else { throw ValueError(.value, "Replacement index \(auto) out of range for positional args tuple") }
                v = args.positional[auto]
                auto += 1
            } else if let n = Int(field) {
                guard n < args.positional.count else { throw ValueError(.value, "Replacement index \(n) out of range for positional args tuple") }
                v = args.positional[n]
            } else {
                guard let kv = args.keyword(field) else { throw ValueError(.value, "KeyError: '\(field)'") }
                v = kv
            }
            out += conv == "r" ? pyRepr(v) : pyStr(v)
            i = close + 1
        } else if c == "}" {
            if i + 1 < sc.count, sc[i + 1] == "}" { out += "}"; i += 2; continue }
            throw ValueError(.value, "Single '}' encountered in format string")
        } else {
            out.unicodeScalars.append(c)
            i += 1
        }
    }
    return out
}
