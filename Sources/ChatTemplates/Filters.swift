import Foundation

/// jinja2's builtin filters (the subset chat templates use) plus Hugging Face's `tojson`.
enum Filters {
    static let known: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first",
        "float", "forceescape", "format", "int", "items", "join", "last", "length", "list", "lower", "map", "max",
        "min", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort",
        "string", "sum", "title", "tojson", "trim", "unique", "upper", "wordcount", "indent",
    ]

    static func undefinedError(_ v: Value) -> ValueError? {
        if case .undefined(let u) = v { return ValueError(.undefined, u.hint) }
        return nil
    }

    /// Resolves a dotted attribute path (`"a.b"`, `"0"`) the way jinja2's `make_attrgetter` does.
    static func attrGetter(_ interp: Interpreter, _ path: Value, default def: Value? = nil) -> (Value) throws -> Value {
        let parts: [Value]
        if case .string(let s) = path {
            parts = s.split(separator: ".", omittingEmptySubsequences: false).map { p in
                if let i = Int(p) { return .int(i) }
                return .string(String(p))
            }
        } else {
            parts = [path]
        }
        return { item in
            var cur = item
            for p in parts {
                cur = try interp.getItem(cur, p)
            }
            if let def, case .undefined = cur { return def }
            return cur
        }
    }

    static func apply(_ name: String, _ v: Value, _ args: CallArgs, _ interp: Interpreter, _ pos: SourcePos) throws -> Value {
        let p = args.positional
        func arg(_ i: Int, _ kw: String) -> Value? { i < p.count ? p[i] : args.keyword(kw) }
        switch name {
        case "safe":
            return v
        case "string":
            return .string(pyStr(v))
        case "trim":
            var chars: String? = nil
            if let c = arg(0, "chars"), case .string(let s) = c { chars = s }
            return .string(pyStr(v).trimmed(chars))
        case "upper": return .string(pyStr(v).uppercased())
        case "lower": return .string(pyStr(v).lowercased())
        case "capitalize": return .string(pyCapitalize(pyStr(v)))
        case "title": return .string(jinjaTitle(pyStr(v)))
        case "length", "count":
            switch v {
            case .string(let s): return .int(s.unicodeScalars.count)
            case .list(let l): return .int(l.items.count)
            case .tuple(let t): return .int(t.count)
            case .dict(let d): return .int(d.count)
            case .undefined: return .int(0)
            default: throw ValueError(.type, "object of type '\(v.typeName)' has no len()")
            }
        case "wordcount":
            return .int(wordCount(pyStr(v)))
        case "tojson":
            // Hugging Face: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
            let b = try args.bind("tojson", ["ensure_ascii", "indent", "separators", "sort_keys"])
            var indent: String? = nil
            if let i = b["indent"] {
                switch i {
                case .int(let n): indent = String(repeating: " ", count: max(0, n))
                case .bool(let t): indent = String(repeating: " ", count: t ? 1 : 0)
                case .string(let s): indent = s
                case .none: indent = nil
                default: throw ValueError(.type, "indent must be an int or a string")
                }
            }
            var itemSep = indent == nil ? ", " : ","
            var keySep = ": "
            if let sep = b["separators"], !(sep.isNone) {
                let parts = try interp.iterate(sep)
                guard parts.count == 2, case .string(let a) = parts[0], case .string(let c) = parts[1] else {
                    throw ValueError(.value, "separators must be a (item_separator, key_separator) pair")
                }
                itemSep = a
                keySep = c
            }
            let sortKeys = b["sort_keys"]?.truthy ?? false
            var out = ""
            try JSONWriter.write(v, indent: indent, level: 0, itemSep: itemSep, keySep: keySep, sortKeys: sortKeys, into: &out)
            if b["ensure_ascii"]?.truthy ?? false { out = JSONWriter.asciiEscape(out) }
            return .string(out)
        case "items":
            return IterBox.generator("do_items") { out in
                switch v {
                case .undefined: break
                case .dict(let d): out = d.pairs.map { .tuple([$0.0, $0.1]) }
                default: throw ValueError(.type, "Can only get item pairs from a mapping.")
                }
            }
        case "join":
            var items = try interp.iterate(v)
            if let a = args.keyword("attribute") ?? (p.count > 1 ? p[1] : nil) {
                let g = attrGetter(interp, a)
                items = try items.map(g)
            }
            let sep = arg(0, "d").map(pyStr) ?? ""
            return .string(items.map(pyStr).joined(separator: sep))
        case "replace":
            guard p.count >= 2 else { throw ValueError(.type, "replace() missing required arguments") }
            var count = -1
            if let c = arg(2, "count"), case .int(let n) = c.asNumber ?? .none { count = n }
            return .string(pyReplace(pyStr(v), pyStr(p[0]), pyStr(p[1]), count: count))
        case "default", "d":
            let def = arg(0, "default_value") ?? .string("")
            let boolean = arg(1, "boolean")?.truthy ?? false
            if case .undefined = v { return def }
            if boolean && !v.truthy { return def }
            return v
        case "first":
            let empty = Value.undefined(Undef(hint: "No first item, sequence was empty."))
            if case .undefined = v { return empty }
            if case .iterator(let it) = v { return try it.next() ?? empty }
            return try interp.iterate(v).first ?? empty
        case "last":
            let empty = Value.undefined(Undef(hint: "No last item, sequence was empty."))
            switch v {
            case .undefined: return empty
            case .list, .tuple, .string, .dict: return try interp.iterate(v).last ?? empty
            default: throw ValueError(.type, "'\(v.typeName)' object is not reversible")
            }
        case "list":
            return .list(ListBox(try interp.iterate(v)))
        case "reverse":
            switch v {
            case .string(let s): return .string(String(scalars: s.unicodeScalars.reversed()))
            case .list(let l): return .iterator(IterBox(typeName: "list_reverseiterator", label: "", items: l.items.reversed()))
            case .tuple(let t): return .iterator(IterBox(typeName: "reversed", label: "", items: t.reversed()))
            case .dict(let d): return .iterator(IterBox(typeName: "dict_reversekeyiterator", label: "", items: d.keys.reversed()))
            case .iterator, .undefined: return .list(ListBox(try interp.iterate(v).reversed()))
            default: throw ValueError(.filterArgument, "argument must be iterable")
            }
        case "selectattr", "rejectattr", "select", "reject":
            let isAttr = name.hasSuffix("attr")
            let keep = name.hasPrefix("select")
            var rest = p
            var getter: (Value) throws -> Value = { $0 }
            if isAttr {
                guard !rest.isEmpty else { throw ValueError(.type, "Missing parameter for attribute name") }
                getter = attrGetter(interp, rest.removeFirst())
            }
            var test: ((Value) throws -> Bool)
            if rest.isEmpty {
                test = { $0.truthy }
            } else {
                let tname = pyStr(rest.removeFirst())
                let targs = CallArgs(rest, args.keywords)
                test = { try JinjaTests.apply(tname, $0, targs, interp) }
            }
            return IterBox.generator("select_or_reject") { out in
                guard v.truthy else { return }  // jinja2 checks `if value:` first
                for item in try interp.iterate(v) where try test(try getter(item)) == keep { out.append(item) }
            }
        case "map":
            if let a = args.keyword("attribute") {
                let g = attrGetter(interp, a, default: args.keyword("default"))
                return IterBox.generator("sync_do_map") { out in
                    guard v.truthy else { return }
                    for item in try interp.iterate(v) { out.append(try g(item)) }
                }
            }
            guard let f = p.first else {
                return IterBox.generator("sync_do_map") { out in if v.truthy { out = try interp.iterate(v) } }
            }
            let fname = pyStr(f)
            guard known.contains(fname) else { throw ValueError(.runtime, "No filter named '\(fname)'.") }
            let fargs = CallArgs(Array(p.dropFirst()), args.keywords)
            return IterBox.generator("sync_do_map") { out in
                guard v.truthy else { return }
                for item in try interp.iterate(v) { out.append(try apply(fname, item, fargs, interp, pos)) }
            }
        case "int":
            let def = arg(0, "default") ?? .int(0)
            var base = 10
            if let b = arg(1, "base"), case .int(let n) = b { base = n }
            switch v {
            case .undefined(let u): throw ValueError(.undefined, u.hint)
            case .int: return v
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d):
                guard d.isFinite, let i = Int(exactly: d.rounded(.towardZero)) else { return def }
                return .int(i)
            case .string(let s):
                if let i = parsePyInt(s, base: base) { return .int(i) }
                if let d = parsePyFloat(s), d.isFinite, let i = Int(exactly: d.rounded(.towardZero)) { return .int(i) }
                return def
            default: return def
            }
        case "float":
            let def = arg(0, "default") ?? .double(0)
            switch v {
            case .undefined(let u): throw ValueError(.undefined, u.hint)
            case .int(let i): return .double(Double(i))
            case .bool(let b): return .double(b ? 1 : 0)
            case .double: return v
            case .string(let s): return parsePyFloat(s).map { .double($0) } ?? def
            default: return def
            }
        case "abs":
            switch v {
            case .int(let i):
                if i == Int.min { throw ValueError(.overflow, "integer overflow") }
                return .int(abs(i))
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d): return .double(abs(d))
            default: throw ValueError(.type, "bad operand type for abs(): '\(v.typeName)'")
            }
        case "round":
            var precision = 0
            if let a = arg(0, "precision"), case .int(let n) = a.asNumber ?? .none { precision = n }
            let method = arg(1, "method").map(pyStr) ?? "common"
            guard ["common", "ceil", "floor"].contains(method) else {
                throw ValueError(.runtime, "method must be common, ceil or floor")
            }
            switch v {
            case .int, .bool:
                guard method == "common" else { return .double(v.doubleValue) }
                guard case .int(let i) = v.asNumber ?? .none, precision < 0 else { return v.asNumber ?? v }
                // round(int, -n): half-to-even at 10**n
                if precision < -18 { return .int(0) }
                var m = 1
                for _ in 0..<(-precision) { m *= 10 }
                let q = i / m, r = i % m
                var base = q * m
                let twice = 2 * abs(r)
                if twice > m || (twice == m && q % 2 != 0) { base += (i < 0 ? -m : m) }
                return .int(base)
            case .double(let d):
                let scale = Foundation.pow(10.0, Double(precision))
                switch method {
                case "ceil": return .double(Foundation.ceil(d * scale) / scale)
                case "floor": return .double(Foundation.floor(d * scale) / scale)
                default:
                    if precision == 0 { return .double(d.rounded(.toNearestOrEven)) }
                    return .double(pyRound(d, precision))
                }
            default:
                throw ValueError(.type, "type \(v.typeName) doesn't define __round__ method")
            }
        case "unique":
            let cs = arg(0, "case_sensitive")?.truthy ?? false
            let attr = arg(1, "attribute")
            let g = attr.map { attrGetter(interp, $0) }
            return IterBox.generator("sync_do_unique") { out in
                var seen: [Value] = []
                for item in try interp.iterate(v) {
                    var key = try g?(item) ?? item
                    if !cs, case .string(let s) = key { key = .string(s.lowercased()) }
                    try interp.checkHashable(key)
                    if !seen.contains(where: { pyEqual($0, key) }) {
                        seen.append(key)
                        out.append(item)
                    }
                }
            }
        case "sort":
            let reverse = arg(0, "reverse")?.truthy ?? false
            let cs = arg(1, "case_sensitive")?.truthy ?? false
            let g = arg(2, "attribute").map { attrGetter(interp, $0) }
            let items = try interp.iterate(v)
            let keyed: [(Value, Value)] = try items.map { item in
                var k = try g?(item) ?? item
                if !cs, case .string(let s) = k { k = .string(s.lowercased()) }
                return (k, item)
            }
            return .list(ListBox(try stableSort(keyed, reverse: reverse).map(\.1)))
        case "dictsort":
            guard case .dict(let d) = v else {
                if let e = undefinedError(v) { throw e }
                throw ValueError(.attribute, "'\(v.typeName)' object has no attribute 'items'")
            }
            let cs = arg(0, "case_sensitive")?.truthy ?? false
            let by = arg(1, "by").map(pyStr) ?? "key"
            let reverse = arg(2, "reverse")?.truthy ?? false
            guard by == "key" || by == "value" else { throw ValueError(.runtime, "You can only sort by either \"key\" or \"value\"") }
            let keyed: [(Value, Value)] = d.pairs.map { pair in
                var k = by == "key" ? pair.0 : pair.1
                if !cs, case .string(let s) = k { k = .string(s.lowercased()) }
                return (k, .tuple([pair.0, pair.1]))
            }
            return .list(ListBox(try stableSort(keyed, reverse: reverse).map(\.1)))
        case "batch":
            guard let c = p.first, case .int(let n) = c.asNumber ?? .none, n > 0 else {
                throw ValueError(.value, "batch size must be a positive integer")
            }
            let fill = arg(1, "fill_with")
            return IterBox.generator("do_batch") { out in
                var cur: [Value] = []
                for item in try interp.iterate(v) {
                    if cur.count == n { out.append(.list(ListBox(cur))); cur = [] }
                    cur.append(item)
                }
                if !cur.isEmpty {
                    if let fill, !fill.isNone { while cur.count < n { cur.append(fill) } }
                    out.append(.list(ListBox(cur)))
                }
            }
        case "sum":
            let g = args.keyword("attribute").map { attrGetter(interp, $0) } ?? (p.count > 0 ? attrGetter(interp, p[0]) : nil)
            var total = args.keyword("start") ?? (p.count > 1 ? p[1] : .int(0))
            for item in try interp.iterate(v) {
                total = try interp.binary(.add, total, try g?(item) ?? item)
            }
            return total
        case "max", "min":
            let cs = arg(0, "case_sensitive")?.truthy ?? false
            let g = arg(1, "attribute").map { attrGetter(interp, $0) }
            var best: (Value, Value)? = nil
            for item in try interp.iterate(v) {
                var k = try g?(item) ?? item
                if !cs, case .string(let s) = k { k = .string(s.lowercased()) }
                if let b = best {
                    let c = try pyCompare(k, b.0, op: name == "max" ? ">" : "<")
                    if (name == "max" && c == 1) || (name == "min" && c == -1) { best = (k, item) }
                } else {
                    best = (k, item)
                }
            }
            return best?.1 ?? .undefined(Undef(hint: "No aggregated item, sequence was empty."))
        case "center":
            var width = 80
            if let w = arg(0, "width"), case .int(let n) = w { width = n }
            let s = pyStr(v)
            let len = s.unicodeScalars.count
            if width <= len { return .string(s) }
            let total = width - len
            let left = total / 2 + (total & width & 1)
            return .string(String(repeating: " ", count: left) + s + String(repeating: " ", count: total - left))
        case "indent":
            if let e = undefinedError(v) { throw e }
            switch v {
            case .string: break
            case .list: throw ValueError(.attribute, "'list' object has no attribute 'splitlines'")
            case .tuple: throw ValueError(.type, "can only concatenate tuple (not \"str\") to tuple")
            default: throw ValueError(.type, "unsupported operand type(s) for +=: '\(v.typeName)' and 'str'")
            }
            var width = "    "
            if let w = arg(0, "width") {
                switch w {
                case .string(let s): width = s
                case .int(let n): width = String(repeating: " ", count: max(0, n))
                default: break
                }
            }
            let first = arg(1, "first")?.truthy ?? false
            let blank = arg(2, "blank")?.truthy ?? false
            return .string(indentText(pyStr(v), width, first: first, blank: blank))
        case "escape", "e", "forceescape":
            return .string(htmlEscape(pyStr(v)))
        case "format":
            guard case .string(let fmt) = v else { throw ValueError(.type, "format filter needs a string") }
            return .string(try interp.percentFormat(fmt, p.count == 1 ? p[0] : .tuple(p)))
        case "attr":
            guard let a = p.first else { throw ValueError(.type, "attr() missing argument") }
            return try interp.getAttr(v, pyStr(a))
        default:
            throw ValueError(.syntax, "No filter named '\(name)'.")
        }
    }

    /// Python's `sorted` with a key (stable); throws on unorderable keys.
    static func stableSort(_ keyed: [(Value, Value)], reverse: Bool) throws -> [(Value, Value)] {
        var err: Error? = nil
        let indexed = keyed.enumerated().map { ($0.offset, $0.element) }
        let sorted = indexed.sorted { a, b in
            if err != nil { return false }
            do {
                let c = try pyCompare(a.1.0, b.1.0, op: "<")
                if c == 0 || c == 2 { return a.0 < b.0 }
                return reverse ? c > 0 : c < 0
            } catch {
                err = error
                return false
            }
        }
        if let err { throw err }
        return sorted.map(\.1)
    }

    static func jinjaTitle(_ s: String) -> String {
        // words start after runs of "-", whitespace, "(", "{", "[", "<"
        var out = ""
        var atStart = true
        for c in s.unicodeScalars {
            let sep = c == "-" || c == "(" || c == "{" || c == "[" || c == "<" || isPySpace(c)
            if sep {
                out.unicodeScalars.append(c)
                atStart = true
            } else if atStart {
                out += String(c).uppercased()
                atStart = false
            } else {
                out += String(c).lowercased()
            }
        }
        return out
    }

    static func isWordChar(_ c: Unicode.Scalar) -> Bool {
        c == "_" || isPyAlnum(c)
    }

    static func wordCount(_ s: String) -> Int {
        var n = 0
        var inWord = false
        for c in s.unicodeScalars {
            if isWordChar(c) {
                if !inWord { n += 1 }
                inWord = true
            } else {
                inWord = false
            }
        }
        return n
    }

    static func indentText(_ s: String, _ indention: String, first: Bool, blank: Bool) -> String {
        let lines = pySplitlines(s + "\n")
        var rv: String
        if blank {
            rv = lines.joined(separator: "\n" + indention)
        } else {
            var rest = lines
            rv = rest.isEmpty ? "" : rest.removeFirst()
            if !rest.isEmpty {
                rv += "\n" + rest.map { $0.isEmpty ? $0 : indention + $0 }.joined(separator: "\n")
            }
        }
        if first { rv = indention + rv }
        return rv
    }

    static func htmlEscape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

extension String {
    func trimmed(_ chars: String?) -> String { pyStrip(self, chars: chars, left: true, right: true) }
}

/// Python `int(s, base)`: optional sign, surrounding whitespace, underscores between digits.
func parsePyInt(_ s: String, base: Int) -> Int? {
    var t = pyStrip(s, chars: nil, left: true, right: true)
    var neg = false
    if t.hasPrefix("-") { neg = true; t.removeFirst() } else if t.hasPrefix("+") { t.removeFirst() }
    var b = base
    let lower = t.lowercased()
    if b == 16 || b == 0, lower.hasPrefix("0x") { t = String(t.dropFirst(2)); b = 16 }
    else if b == 8 || b == 0, lower.hasPrefix("0o") { t = String(t.dropFirst(2)); b = 8 }
    else if b == 2 || b == 0, lower.hasPrefix("0b") { t = String(t.dropFirst(2)); b = 2 }
    if b == 0 { b = 10 }
    guard !t.isEmpty, !t.hasPrefix("_"), !t.hasSuffix("_"), !t.contains("__"), (2...36).contains(b) else { return nil }
    guard let v = Int(t.replacingOccurrences(of: "_", with: ""), radix: b) else { return nil }
    return neg ? -v : v
}

/// Python `float(s)`.
func parsePyFloat(_ s: String) -> Double? {
    let t = pyStrip(s, chars: nil, left: true, right: true).lowercased()
    switch t {
    case "inf", "+inf", "infinity", "+infinity": return .infinity
    case "-inf", "-infinity": return -.infinity
    case "nan", "+nan", "-nan": return .nan
    default: break
    }
    guard !t.isEmpty, !t.hasPrefix("_"), !t.contains("__"), !t.contains("0x"),
          t.unicodeScalars.allSatisfy({ "0123456789.eE+-_".unicodeScalars.contains($0) })
    else { return nil }
    return Double(t.replacingOccurrences(of: "_", with: ""))
}

/// Python's `round(x, n)` for n != 0 (correctly rounded through the decimal representation).
func pyRound(_ d: Double, _ n: Int) -> Double {
    if !d.isFinite { return d }
    if n > 300 { return d }
    if n < -308 { return 0 * d }
    let s = String(format: "%.\(max(0, n))f", d)
    if n >= 0, let v = Double(s) {
        // %.nf rounds half-to-even on the exact binary value, as Python does
        return v
    }
    let scale = Foundation.pow(10.0, Double(-n))
    return (d / scale).rounded(.toNearestOrEven) * scale
}
