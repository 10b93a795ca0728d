/// jinja2's builtin tests (`x is defined`, `x is divisibleby 3`, ...).
enum JinjaTests {
    static let known: Set<String> = [
        "defined", "undefined", "none", "string", "number", "integer", "float", "mapping", "iterable", "sequence",
        "true", "false", "boolean", "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt",
        "greaterthan", ">", "ge", ">=", "in", "odd", "even", "divisibleby", "sameas", "callable", "lower", "upper",
        "escaped", "filter", "test",
    ]

    static func apply(_ name: String, _ v: Value, _ args: CallArgs, _ interp: Interpreter) throws -> Bool {
        let p = args.positional
        func other() throws -> Value {
            guard let o = p.first ?? args.keywords.first?.1 else {
                throw ValueError(.type, "test '\(name)' is missing a required argument")
            }
            return o
        }
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": return v.isNone
        case "string":
            if case .string = v { return true }
            return false
        case "number":
            switch v {
            case .int, .double, .bool: return true
            default: return false
            }
        case "integer":
            if case .int = v { return true }
            return false
        case "float":
            if case .double = v { return true }
            return false
        case "boolean":
            if case .bool = v { return true }
            return false
        case "true":
            if case .bool(true) = v { return true }
            return false
        case "false":
            if case .bool(false) = v { return true }
            return false
        case "mapping":
            if case .dict = v { return true }
            return false
        case "iterable":
            switch v {
            case .list, .tuple, .dict, .string, .undefined, .iterator: return true
            default: return false
            }
        case "sequence":
            switch v {
            case .list, .tuple, .dict, .string, .undefined: return true
            default: return false
            }
        case "callable":
            switch v {
            case .callable: return true
            case .loop(let l): return l.recurse != nil
            default: return false
            }
        case "eq", "equalto", "==": return pyEqual(v, try other())
        case "ne", "!=": return !pyEqual(v, try other())
        case "lt", "lessthan", "<": return try interp.compare(.lt, v, try other())
        case "le", "<=": return try interp.compare(.le, v, try other())
        case "gt", "greaterthan", ">": return try interp.compare(.gt, v, try other())
        case "ge", ">=": return try interp.compare(.ge, v, try other())
        case "in": return try interp.contains(try other(), v)
        case "sameas":
            let o = try other()
            switch (v, o) {
            case (.list(let a), .list(let b)): return a === b
            case (.dict(let a), .dict(let b)), (.namespace(let a), .namespace(let b)): return a === b
            case (.none, .none), (.undefined, .undefined): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.int(let a), .int(let b)): return a == b && a >= -5 && a <= 256
            case (.string(let a), .string(let b)): return a == b
            default: return false
            }
        case "odd", "even":
            let r = try interp.binary(.mod, v, .int(2))
            return pyEqual(r, .int(name == "odd" ? 1 : 0))
        case "divisibleby":
            let r = try interp.binary(.mod, v, try other())
            return pyEqual(r, .int(0))
        case "lower":
            let s = pyStr(v)
            return s.lowercased() == s && s.unicodeScalars.contains { $0.properties.isCased }
        case "upper":
            let s = pyStr(v)
            return s.uppercased() == s && s.unicodeScalars.contains { $0.properties.isCased }
        case "escaped": return false
        case "filter":
            if case .string(let s) = v { return Filters.known.contains(s) }
            return false
        case "test":
            if case .string(let s) = v { return known.contains(s) }
            return false
        default:
            throw ValueError(.syntax, "No test named '\(name)'.")
        }
    }
}
