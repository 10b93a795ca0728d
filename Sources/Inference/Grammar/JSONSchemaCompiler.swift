// Walks a JSON Schema and writes GBNF rules for it. Every schema node becomes an expression;
// objects, arrays and `$ref` targets get rules of their own (a `$ref` rule is named before its
// body is compiled, so recursive schemas work).

import ChatTemplates

struct JSONSchemaCompiler {
    let prefix: String
    let document: JSONValue
    private var rules: [(name: String, body: String)] = []
    private var defined: Set<String> = []
    private var references: [String: String] = [:]
    private var counter = 0
    /// Nesting of schemas being compiled (through properties, items, $ref …).
    private var depth = 0
    static let maxDepth = 128

    /// Keywords that only describe the schema; they are accepted and ignored.
    static let descriptive: Set<String> = [
        "title", "description", "$schema", "$id", "$comment", "examples", "default", "deprecated",
        "readOnly", "writeOnly", "$anchor",
    ]
    static let supported: Set<String> = [
        "$ref", "$defs", "definitions", "const", "enum", "anyOf", "oneOf", "allOf", "type", "properties",
        "required", "additionalProperties", "items", "prefixItems", "minItems", "maxItems", "uniqueItems",
        "minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    ]
    /// Bounds above this are treated as unbounded (the grammar would be too large, and no
    /// generation gets near them).
    static let largestCount = 5_000

    init(prefix: String, document: JSONValue) {
        self.prefix = prefix
        self.document = document
    }

    /// The grammar text: the root rule, then the helpers in the order they were made.
    func finish(root: String) -> String {
        var text = "\(prefix) ::= \(root)\n"
        for rule in rules { text += "\(rule.name) ::= \(rule.body)\n" }
        return text
    }

    // MARK: - Rules

    private mutating func define(_ name: String, _ body: String) {
        defined.insert(name)
        rules.append((name, body))
    }

    private mutating func newRule(_ hint: String, _ body: String) -> String {
        counter += 1
        let name = "\(prefix)-\(hint)\(counter)"
        define(name, body)
        return name
    }

    /// The rule name of a shared building block, defined on first use.
    mutating func primitive(_ what: String) -> String {
        let name = "\(prefix)-\(what)"
        if defined.contains(name) { return name }
        defined.insert(name)
        let body: String
        switch what {
        case "ws": body = "( \" \" | \"\\n\" [ \\t]{0,20} )?"
        case "char": body = JSONStringGrammar.character
        case "string": body = "\"\\\"\" \(primitive("char"))* \"\\\"\""
        case "integer": body = "\"-\"? ( \"0\" | [1-9] [0-9]{0,17} )"
        case "number": body = JSONNumberGrammar.number(min: nil, max: nil, exclusiveMin: false, exclusiveMax: false)
        case "boolean": body = "\"true\" | \"false\""
        case "null": body = "\"null\""
        case "value":
            body = ["object", "array", "string", "number", "boolean", "null"].map { primitive($0) }.joined(separator: " | ")
        case "object":
            let ws = primitive("ws"), str = primitive("string"), value = primitive("value")
            let kv = "\(str) \(ws) \":\" \(ws) \(value)"
            body = "\"{\" \(ws) ( \(kv) ( \(ws) \",\" \(ws) \(kv) )* \(ws) )? \"}\""
        case "array":
            let ws = primitive("ws"), value = primitive("value")
            body = "\"[\" \(ws) ( \(value) ( \(ws) \",\" \(ws) \(value) )* \(ws) )? \"]\""
        default: body = "\"\""
        }
        rules.append((name, body))
        return name
    }

    // MARK: - Schemas

    mutating func compile(_ schema: JSONValue, path: String) throws(GrammarError) -> String {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw invalid(path, "schemas nest deeper than \(Self.maxDepth) levels") }
        let members: [(key: String, value: JSONValue)]
        switch schema {
        case .bool(true): return primitive("value")
        case .bool(false): throw invalid(path, "the schema false allows no value")
        case .object(let m): members = m
        default: throw invalid(path, "a schema must be an object or a boolean")
        }
        for (key, _) in members where !Self.supported.contains(key) && !Self.descriptive.contains(key) {
            throw GrammarError(.unsupportedKeyword(keyword: key, path: path))
        }
        let constraints = members.map(\.key).filter { Self.supported.contains($0) && $0 != "$defs" && $0 != "definitions" }
        func alone(_ keyword: String, besides allowed: Set<String> = []) throws(GrammarError) {
            if let other = constraints.first(where: { $0 != keyword && !allowed.contains($0) }) {
                throw GrammarError(.unsupportedKeyword(keyword: "\(other) (next to \(keyword))", path: path))
            }
        }
        if let ref = schema["$ref"] {
            try alone("$ref")
            guard case .string(let target) = ref else { throw invalid(path, "$ref must be a string") }
            return try reference(target, path: path)
        }
        if let value = schema["const"] {
            try alone("const", besides: ["type"])
            guard try fitsType(value, schema, path: path) else { throw invalid(path, "const is not of the schema's type") }
            return JSONStringGrammar.gbnfLiteral(value.text)
        }
        if let values = schema["enum"] {
            try alone("enum", besides: ["type"])
            guard case .array(var items) = values, !items.isEmpty else { throw invalid(path, "enum must be a non-empty array") }
            // `type` beside `enum` keeps the values of that type.
            var kept: [JSONValue] = []
            for item in items where try fitsType(item, schema, path: path) { kept.append(item) }
            items = kept
            guard !items.isEmpty else { throw invalid(path, "no enum value is of the schema's type") }
            return "( " + items.map { JSONStringGrammar.gbnfLiteral($0.text) }.joined(separator: " | ") + " )"
        }
        for keyword in ["anyOf", "oneOf", "allOf"] {
            guard let list = schema[keyword] else { continue }
            try alone(keyword)
            guard case .array(let subs) = list, !subs.isEmpty else { throw invalid(path, "\(keyword) must be a non-empty array") }
            if keyword == "allOf" && subs.count > 1 {
                throw GrammarError(.unsupportedKeyword(keyword: "allOf (with more than one schema)", path: path))
            }
            var alts: [String] = []
            for (i, sub) in subs.enumerated() { alts.append(try compile(sub, path: "\(path)/\(keyword)/\(i)")) }
            return "( " + alts.joined(separator: " | ") + " )"
        }
        var types: [String]
        switch schema["type"] {
        case .string(let t)?: types = [t]
        case .array(let list)?:
            types = []
            for t in list {
                guard case .string(let name) = t else { throw invalid(path, "type must name JSON types") }
                types.append(name)
            }
        case nil: types = inferredTypes(schema)
        default: throw invalid(path, "type must be a string or an array of strings")
        }
        if types.isEmpty { return primitive("value") }
        var alts: [String] = []
        for t in types {
            switch t {
            case "object": alts.append(try object(schema, path: path))
            case "array": alts.append(try array(schema, path: path))
            case "string": alts.append(try string(schema, path: path))
            case "integer": alts.append(try integer(schema, path: path))
            case "number": alts.append(try number(schema, path: path))
            case "boolean": alts.append(primitive("boolean"))
            case "null": alts.append(primitive("null"))
            default: throw invalid("\(path)/type", "\"\(t)\" is not a JSON Schema type")
            }
        }
        return alts.count == 1 ? alts[0] : "( " + alts.joined(separator: " | ") + " )"
    }

    /// Whether `value` is of the schema's `type` (true when there is none).
    private func fitsType(_ value: JSONValue, _ schema: JSONValue, path: String) throws(GrammarError) -> Bool {
        let types: [String]
        switch schema["type"] {
        case nil: return true
        case .string(let t)?: types = [t]
        case .array(let list)?: types = list.compactMap { if case .string(let t) = $0 { t } else { nil } }
        default: throw invalid(path, "type must be a string or an array of strings")
        }
        let kind: String
        switch value {
        case .null: kind = "null"
        case .bool: kind = "boolean"
        case .number(let d, _): if types.contains("integer") && d == d.rounded() { return true }; kind = "number"
        case .string: kind = "string"
        case .array: kind = "array"
        case .object: kind = "object"
        }
        return types.contains(kind)
    }

    private func inferredTypes(_ schema: JSONValue) -> [String] {
        func has(_ keys: [String]) -> Bool { keys.contains { schema[$0] != nil } }
        if has(["properties", "additionalProperties", "required"]) { return ["object"] }
        if has(["items", "prefixItems", "minItems", "maxItems"]) { return ["array"] }
        if has(["minLength", "maxLength", "pattern", "format"]) { return ["string"] }
        if has(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]) { return ["number"] }
        return []
    }

    private mutating func reference(_ target: String, path: String) throws(GrammarError) -> String {
        if let name = references[target] { return name }
        guard target.hasPrefix("#") else {
            throw invalid(path, "only references inside the schema (starting with #) are supported, not \"\(target)\"")
        }
        var node = document
        let pointer = target.dropFirst()
        if !pointer.isEmpty {
            guard pointer.hasPrefix("/") else { throw invalid(path, "the reference \"\(target)\" is not a JSON pointer") }
            for raw in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
                let key = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
                switch node {
                case .object: node = node[key] ?? .null
                case .array(let items): node = Int(key).flatMap { $0 >= 0 && $0 < items.count ? items[$0] : nil } ?? .null
                default: node = .null
                }
                if case .null = node { throw invalid(path, "the reference \"\(target)\" points to nothing") }
            }
        }
        counter += 1
        let name = "\(prefix)-ref\(counter)"
        references[target] = name
        defined.insert(name)
        let index = rules.count
        rules.append((name, ""))
        let body = try compile(node, path: target)
        rules[index].body = body
        return name
    }

    private mutating func object(_ schema: JSONValue, path: String) throws(GrammarError) -> String {
        var properties: [(key: String, value: JSONValue)] = []
        if let p = schema["properties"] {
            guard case .object(let m) = p else { throw invalid(path, "properties must be an object") }
            properties = m
        }
        var required: Set<String> = []
        if let r = schema["required"] {
            guard case .array(let list) = r else { throw invalid(path, "required must be an array of names") }
            for item in list {
                guard case .string(let name) = item else { throw invalid(path, "required must be an array of names") }
                required.insert(name)
            }
        }
        if let unique = schema["uniqueItems"], unique != .bool(false) {
            throw GrammarError(.unsupportedKeyword(keyword: "uniqueItems", path: path))
        }
        // Extra keys: a schema for their values, or nil when none are allowed.
        var extra: JSONValue?
        switch schema["additionalProperties"] {
        case nil: extra = properties.isEmpty ? .bool(true) : nil
        case .bool(let allowed)?: extra = allowed ? .bool(true) : nil
        case .object(let m)?: extra = .object(m)
        default: throw invalid(path, "additionalProperties must be a boolean or a schema")
        }
        // Required keys without a property schema take the additional-properties schema.
        for name in required.sorted() where !properties.contains(where: { $0.key == name }) {
            guard let extra else {
                throw invalid(path, "\"\(name)\" is required but not in properties and additionalProperties is false")
            }
            properties.append((name, extra))
        }
        let ws = primitive("ws")
        var kvs: [String] = []
        for (key, sub) in properties {
            let value = try compile(sub, path: "\(path)/properties/\(key)")
            kvs.append("\(JSONStringGrammar.gbnfLiteral(JSONString.quoted(key))) \(ws) \":\" \(ws) \(value)")
        }
        var extraKV = ""
        if let extra {
            let value = try compile(extra, path: "\(path)/additionalProperties")
            // An extra key never repeats a listed one: a parser would keep the later value, which
            // the listed property's schema has not checked.
            let key = properties.isEmpty ? primitive("string") : keyExcluding(properties.map(\.key))
            extraKV = newRule("kv", "\(key) \(ws) \":\" \(ws) \(value)")
        }
        let comma = "\(ws) \",\" \(ws)"
        // rest(i): keys i... after at least one key; first(i): keys i... when none came yet.
        var rest = extraKV.isEmpty ? "" : "( \(comma) \(extraKV) )*"
        var first = extraKV.isEmpty ? "" : "( \(extraKV) ( \(comma) \(extraKV) )* )?"
        for i in properties.indices.reversed() {
            let isRequired = required.contains(properties[i].key)
            let nextRest = rest, nextFirst = first
            let restBody = "\(comma) \(kvs[i]) \(nextRest)" + (isRequired ? "" : " | \(nextRest)")
            let firstBody = "\(kvs[i]) \(nextRest)" + (isRequired ? "" : " | \(nextFirst)")
            rest = newRule("rest", restBody)
            first = newRule("first", firstBody)
        }
        return newRule("object", "\"{\" \(ws) \(first) \(ws) \"}\"")
    }

    /// A JSON string (quotes included) whose value is none of `keys`. Until the text leaves the
    /// keys' prefixes it is written without escapes (an escape could spell a key's character);
    /// after that anything goes.
    private mutating func keyExcluding(_ keys: [String]) -> String {
        final class Node {
            var children: [(UInt32, Node)] = []
            var isKey = false
        }
        let root = Node()
        for key in keys {
            var n = root
            for u in key.unicodeScalars {
                if let next = n.children.first(where: { $0.0 == u.value })?.1 {
                    n = next
                } else {
                    let next = Node()
                    n.children.append((u.value, next))
                    n = next
                }
            }
            n.isKey = true
        }
        let char = primitive("char")
        let rest = newRule("keyrest", "\(char)* \"\\\"\"")
        // Children before parents, without recursion (keys may be long).
        var order: [Node] = [root]
        var k = 0
        while k < order.count {
            order.append(contentsOf: order[k].children.map(\.1))
            k += 1
        }
        var names: [ObjectIdentifier: String] = [:]
        for n in order.reversed() {
            var alts: [String] = []
            if !n.isKey { alts.append("\"\\\"\"") }
            // Characters written as themselves that differ from every child.
            let excluded = n.children.map { $0.0...$0.0 } + JSONStringGrammar.plainExclusions
            alts.append(JSONStringGrammar.charClass(excluding: excluded) + " " + rest)
            for (c, child) in n.children {
                guard let u = Unicode.Scalar(c), !JSONStringGrammar.needsEscape(c) else { continue }
                alts.append(JSONStringGrammar.gbnfLiteral(String(Character(u))) + " " + names[ObjectIdentifier(child)]!)
            }
            names[ObjectIdentifier(n)] = newRule("key", alts.joined(separator: " | "))
        }
        return "\"\\\"\" " + names[ObjectIdentifier(root)]!
    }

    private mutating func array(_ schema: JSONValue, path: String) throws(GrammarError) -> String {
        var prefixItems: [String] = []
        if let p = schema["prefixItems"] {
            guard case .array(let subs) = p else { throw invalid(path, "prefixItems must be an array of schemas") }
            for (i, sub) in subs.enumerated() { prefixItems.append(try compile(sub, path: "\(path)/prefixItems/\(i)")) }
        }
        if let unique = schema["uniqueItems"], unique != .bool(false) {
            throw GrammarError(.unsupportedKeyword(keyword: "uniqueItems", path: path))
        }
        var item: String?
        switch schema["items"] {
        case nil, .bool(true)?: item = primitive("value")
        case .bool(false)?: item = nil
        case .object?: item = try compile(schema["items"]!, path: "\(path)/items")
        default: throw invalid(path, "items must be a schema (use prefixItems for tuples)")
        }
        let minimum = try count(schema, "minItems", path: path) ?? 0
        var maximum = try count(schema, "maxItems", path: path)
        if let m = maximum, m > Self.largestCount { maximum = nil }
        if item == nil { maximum = min(maximum ?? prefixItems.count, prefixItems.count) }
        if let maximum, minimum > maximum {
            throw invalid(path, "no array satisfies minItems \(minimum) with at most \(maximum) items")
        }
        let ws = primitive("ws")
        let comma = "\(ws) \",\" \(ws)"
        func element(_ j: Int) -> String { j < prefixItems.count ? prefixItems[j] : item! }
        // tail(j): the elements after the first j.
        let fixed = max(prefixItems.count, minimum)
        var tails: [Int: String] = [:]
        func tailExpression(_ j: Int) -> String {
            if let maximum, j >= maximum { return "" }
            if j >= fixed {
                guard let item else { return "" }
                if let maximum { return "( \(comma) \(item) ){0,\(maximum - j)}" }
                return "( \(comma) \(item) )*"
            }
            return tails[j]!
        }
        if fixed > 0 {
            for j in stride(from: fixed - 1, through: 1, by: -1) where maximum.map({ j < $0 }) ?? true {
                let body = "\(comma) \(element(j)) \(tailExpression(j + 1))"
                tails[j] = newRule("items", j >= minimum ? "( \(body) )?" : body)
            }
        }
        if maximum == 0 { return newRule("array", "\"[\" \(ws) \"]\"") }
        let elements = "\(element(0)) \(tailExpression(1)) \(ws)"
        return newRule("array", minimum == 0 ? "\"[\" \(ws) ( \(elements) )? \"]\"" : "\"[\" \(ws) \(elements) \"]\"")
    }

    private mutating func string(_ schema: JSONValue, path: String) throws(GrammarError) -> String {
        let minLength = try count(schema, "minLength", path: path)
        var maxLength = try count(schema, "maxLength", path: path)
        if let m = maxLength, m > Self.largestCount { maxLength = nil }
        if let format = schema["format"] {
            guard case .string(let name) = format else { throw invalid(path, "format must be a string") }
            guard let body = JSONStringGrammar.format(name) else {
                throw GrammarError(.unsupportedKeyword(keyword: "format \"\(name)\"", path: path))
            }
            for other in ["pattern", "minLength", "maxLength"] where schema[other] != nil {
                throw GrammarError(.unsupportedKeyword(keyword: "\(other) (next to format)", path: path))
            }
            return newRule("format", "\"\\\"\" \(body) \"\\\"\"")
        }
        if let pattern = schema["pattern"] {
            guard case .string(let regex) = pattern else { throw invalid(path, "pattern must be a string") }
            for other in ["minLength", "maxLength"] where schema[other] != nil {
                throw GrammarError(.unsupportedKeyword(keyword: "\(other) (next to pattern)", path: path))
            }
            do {
                return newRule("pattern", "\"\\\"\" \(try JSONStringGrammar.pattern(regex)) \"\\\"\"")
            } catch {
                throw invalid("\(path)/pattern", error.message)
            }
        }
        if minLength == nil && maxLength == nil { return primitive("string") }
        let lo = min(minLength ?? 0, Self.largestCount)
        if let maxLength, lo > maxLength { throw invalid(path, "minLength \(lo) is above maxLength \(maxLength)") }
        let bounds = "{\(lo)," + (maxLength.map(String.init) ?? "") + "}"
        return newRule("string", "\"\\\"\" \(primitive("char"))\(bounds) \"\\\"\"")
    }

    private mutating func integer(_ schema: JSONValue, path: String) throws(GrammarError) -> String {
        let (lo, hi, exLo, exHi) = try bounds(schema, path: path)
        if lo == nil && hi == nil { return primitive("integer") }
        let a = lo.map { exLo ? $0.rounded(.down) + 1 : $0.rounded(.up) }
        let b = hi.map { exHi ? $0.rounded(.up) - 1 : $0.rounded(.down) }
        let limit = Double(JSONNumberGrammar.limit)
        let body = JSONNumberGrammar.integer(
            a.map { Int64(max(min($0, limit), -limit)) }, b.map { Int64(max(min($0, limit), -limit)) })
        if body.isEmpty { throw invalid(path, "no integer lies within the minimum and maximum") }
        return newRule("integer", body)
    }

    private mutating func number(_ schema: JSONValue, path: String) throws(GrammarError) -> String {
        let (lo, hi, exLo, exHi) = try bounds(schema, path: path)
        if lo == nil && hi == nil { return primitive("number") }
        let body = JSONNumberGrammar.number(min: lo, max: hi, exclusiveMin: exLo, exclusiveMax: exHi)
        if body.isEmpty { throw invalid(path, "no number lies within the minimum and maximum") }
        return newRule("number", body)
    }

    /// minimum/maximum with exclusive flags (numeric exclusive* of draft 6+, or boolean of draft 4).
    private func bounds(_ schema: JSONValue, path: String) throws(GrammarError) -> (Double?, Double?, Bool, Bool) {
        func value(_ key: String) throws(GrammarError) -> Double? {
            switch schema[key] {
            case nil: return nil
            case .number(let d, _)?: return d
            default: throw invalid(path, "\(key) must be a number")
            }
        }
        var lo = try value("minimum"), hi = try value("maximum")
        var exLo = false, exHi = false
        switch schema["exclusiveMinimum"] {
        case .number(let d, _)?:
            if lo == nil || d >= lo! { lo = d; exLo = true }
        case .bool(let b)?: exLo = b && lo != nil
        case nil: break
        default: throw invalid(path, "exclusiveMinimum must be a number")
        }
        switch schema["exclusiveMaximum"] {
        case .number(let d, _)?:
            if hi == nil || d <= hi! { hi = d; exHi = true }
        case .bool(let b)?: exHi = b && hi != nil
        case nil: break
        default: throw invalid(path, "exclusiveMaximum must be a number")
        }
        return (lo, hi, exLo, exHi)
    }

    private func count(_ schema: JSONValue, _ key: String, path: String) throws(GrammarError) -> Int? {
        guard let v = schema[key] else { return nil }
        guard case .number(let d, _) = v, d >= 0, d == d.rounded(), d < 1e9 else {
            throw invalid(path, "\(key) must be a non-negative integer")
        }
        return Int(d)
    }

    private func invalid(_ path: String, _ message: String) -> GrammarError {
        GrammarError(.invalidSchema(path: path, message: message))
    }
}
