// Function schemas nearly always write `{"type": "string", "enum": [...]}`; the JSON Schema
// compiler takes `enum`/`const` alone. Both mean "one of these values, of that type", so before
// compiling, such a pair becomes the enum (or const) with the values of another type dropped.
// When no value has the type, the schema is left as written and the compiler explains.

import ChatTemplates

public enum TypedEnumSchemas {
    /// `schema` with every `type` next to an `enum` or `const` folded into it.
    public static func normalized(_ schema: TemplateValue) -> TemplateValue {
        switch schema {
        case .array(let items):
            return .array(items.map(normalized))
        case .object(let o):
            var out = TemplateObject(o.pairs.map { ($0.0, normalized($0.1)) })
            guard let types = typeNames(out["type"]) else { return .object(out) }
            if case .array(let values)? = out["enum"] {
                let kept = values.filter { value in types.contains { matches(value, $0) } }
                if !kept.isEmpty {
                    out["enum"] = .array(kept)
                    out["type"] = nil
                }
            } else if let value = out["const"], types.contains(where: { matches(value, $0) }) {
                out["type"] = nil
            }
            return .object(out)
        default:
            return schema
        }
    }

    /// The type names of a `type` keyword (a string or an array of strings).
    private static func typeNames(_ value: TemplateValue?) -> [String]? {
        switch value {
        case .string(let t)?: return [t]
        case .array(let items)?:
            let names = items.compactMap { if case .string(let t) = $0 { t } else { nil } }
            return names.count == items.count && !names.isEmpty ? names : nil
        default: return nil
        }
    }

    private static func matches(_ value: TemplateValue, _ type: String) -> Bool {
        switch (value, type) {
        case (.string, "string"), (.bool, "boolean"), (.null, "null"), (.array, "array"), (.object, "object"): true
        case (.int, "integer"), (.int, "number"), (.double, "number"): true
        case (.double(let d), "integer"): d.rounded() == d
        default: false
        }
    }
}
