import Foundation

/// Runtime values with Python semantics. Lists and dicts are reference types (as in Python), so
/// `append` on a list is visible through every name bound to it.
enum Value {
    case undefined(Undef)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list(ListBox)
    case tuple([Value])
    case dict(DictBox)
    case namespace(DictBox)
    case callable(Callable)
    case loop(LoopBox)
    /// A one-shot Python iterator (what jinja2's `select`, `map`, `items`, `reverse` ... return):
    /// always truthy, has no length, and is consumed by iteration.
    case iterator(IterBox)
}

/// Why a value is undefined; used for jinja2's UndefinedError messages.
struct Undef {
    var hint: String
    static func name(_ n: String) -> Undef { Undef(hint: "'\(n)' is undefined") }
    static func attribute(of obj: Value, _ name: String) -> Undef {
        Undef(hint: "'\(objectTypeRepr(obj))' has no attribute '\(name)'")
    }
    static func element(of obj: Value, _ key: Value) -> Undef {
        if case .string(let s) = key { return attribute(of: obj, s) }
        return Undef(hint: "'\(objectTypeRepr(obj))' has no element \(pyRepr(key))")
    }
}

/// jinja2's `object_type_repr`.
func objectTypeRepr(_ v: Value) -> String {
    if case .none = v { return "None" }
    return "\(v.typeName) object"
}

final class ListBox {
    var items: [Value]
    init(_ items: [Value]) { self.items = items }
}

/// An insertion-ordered Python dict. String keys are indexed; other keys use a linear scan.
final class DictBox {
    private(set) var keys: [Value] = []
    private(set) var values: [Value] = []
    private var stringIndex: [String: Int] = [:]

    init() {}

    init(_ pairs: [(Value, Value)]) {
        for (k, v) in pairs { set(k, v) }
    }

    var count: Int { keys.count }

    func index(of key: Value) -> Int? {
        if case .string(let s) = key { return stringIndex[s] }
        return keys.firstIndex { pyEqual($0, key) }
    }

    func get(_ key: Value) -> Value? {
        if let i = index(of: key) { return values[i] }
        return nil
    }

    func get(_ key: String) -> Value? {
        if let i = stringIndex[key] { return values[i] }
        return nil
    }

    func set(_ key: Value, _ value: Value) {
        if let i = index(of: key) {
            values[i] = value
        } else {
            if case .string(let s) = key { stringIndex[s] = keys.count }
            keys.append(key)
            values.append(value)
        }
    }

    func set(_ key: String, _ value: Value) { set(.string(key), value) }

    var pairs: [(Value, Value)] { Array(zip(keys, values)) }

    func copy() -> DictBox { DictBox(pairs) }
}

/// A callable value: a macro, a global function or a bound method.
final class Callable {
    let name: String
    let fn: (CallArgs, Interpreter) throws -> Value
    init(_ name: String, _ fn: @escaping (CallArgs, Interpreter) throws -> Value) {
        self.name = name
        self.fn = fn
    }
}

/// The `loop` variable of a for loop.
final class LoopBox {
    var items: [Value]
    var index0 = 0
    var depth0: Int
    var recurse: Callable?
    var lastChanged: [Value]? = nil
    init(items: [Value], depth0: Int) {
        self.items = items
        self.depth0 = depth0
    }
}

/// State of a one-shot iterator. Items are computed eagerly; an error raised while computing them
/// is kept and thrown when iteration reaches it (as a Python generator would).
final class IterBox {
    let typeName: String
    let label: String
    var items: [Value]
    var pos = 0
    var pendingError: ValueError?

    init(typeName: String, label: String, items: [Value], pendingError: ValueError? = nil) {
        self.typeName = typeName
        self.label = label
        self.items = items
        self.pendingError = pendingError
    }

    /// Builds a generator by running `body`, keeping items produced before an error.
    static func generator(_ label: String, _ body: (inout [Value]) throws -> Void) -> Value {
        var items: [Value] = []
        var err: ValueError? = nil
        do { try body(&items) } catch let e as ValueError { err = e } catch { err = ValueError(.runtime, "\(error)") }
        return .iterator(IterBox(typeName: "generator", label: label, items: items, pendingError: err))
    }

    /// Consumes everything left.
    func drain() throws -> [Value] {
        let rest = Array(items[pos...])
        pos = items.count
        if let e = pendingError { pendingError = nil; throw e }
        return rest
    }

    /// Consumes one item (nil when exhausted).
    func next() throws -> Value? {
        if pos < items.count { pos += 1; return items[pos - 1] }
        if let e = pendingError { pendingError = nil; throw e }
        return nil
    }
}

/// Positional and keyword arguments of a call.
struct CallArgs {
    var positional: [Value]
    var keywords: [(String, Value)]

    init(_ positional: [Value] = [], _ keywords: [(String, Value)] = []) {
        self.positional = positional
        self.keywords = keywords
    }

    func keyword(_ name: String) -> Value? { keywords.last { $0.0 == name }?.1 }

    /// Binds arguments to parameter names Python-style (positional first, then keywords).
    /// Returns nil for missing parameters that have no default.
    func bind(_ fname: String, _ params: [String], defaults: [String: Value] = [:]) throws -> [String: Value] {
        if positional.count > params.count {
            throw ValueError(.type, "\(fname)() takes at most \(params.count) argument\(params.count == 1 ? "" : "s") (\(positional.count) given)")
        }
        var out: [String: Value] = defaults
        for (i, v) in positional.enumerated() { out[params[i]] = v }
        for (k, v) in keywords {
            guard let idx = params.firstIndex(of: k) else {
                throw ValueError(.type, "\(fname)() got an unexpected keyword argument '\(k)'")
            }
            if idx < positional.count { throw ValueError(.type, "\(fname)() got multiple values for argument '\(k)'") }
            out[k] = v
        }
        return out
    }
}

extension Value {
    init(_ t: TemplateValue) {
        switch t {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(ListBox(a.map(Value.init)))
        case .object(let o): self = .dict(DictBox(o.pairs.map { (.string($0.0), Value($0.1)) }))
        }
    }

    /// Python type name (as used in TypeError messages).
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .callable(let c): return c.name.hasPrefix("macro:") ? "Macro" : "builtin_function_or_method"
        case .loop: return "LoopContext"
        case .iterator(let it): return it.typeName
        }
    }

    var isNone: Bool {
        if case .none = self { return true }
        return false
    }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.items.isEmpty
        case .tuple(let t): return !t.isEmpty
        case .dict(let d): return d.count > 0
        case .namespace, .callable, .loop, .iterator: return true
        }
    }

    /// Numeric view (bool counts as int, as in Python).
    var asNumber: Value? {
        switch self {
        case .bool(let b): return .int(b ? 1 : 0)
        case .int, .double: return self
        default: return nil
        }
    }
}
