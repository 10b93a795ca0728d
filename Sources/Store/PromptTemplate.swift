import ChatTemplates
import Foundation

/// A variable the request did not give.
public enum PromptRenderError: Error, Equatable, CustomStringConvertible, Sendable {
    case missingVariable(String)

    public var description: String {
        switch self {
        case .missingVariable(let name): "The prompt needs the variable '\(name)': pass it in 'variables'."
        }
    }
}

/// `{{name}}` substitution (spaces inside the braces allowed). Names are letters, digits, `_`,
/// `-` and `.`; anything else between braces is left as written.
public enum PromptTemplate {
    static let pattern = try! NSRegularExpression(pattern: #"\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}"#)

    public static func variables(in text: String) -> [String] {
        let ns = text as NSString
        return pattern.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { ns.substring(with: $0.range(at: 1)) }
    }

    /// Fills every variable; a string value is inserted as is, other JSON values as JSON text.
    public static func render(_ text: String, _ values: [String: TemplateValue]) throws(PromptRenderError) -> String {
        let ns = text as NSString
        var out = ""
        var last = 0
        for m in pattern.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            let name = ns.substring(with: m.range(at: 1))
            guard let value = values[name] else { throw .missingVariable(name) }
            out += ns.substring(with: NSRange(location: last, length: m.range.location - last))
            if case .string(let s) = value { out += s } else { out += value.jsonString }
            last = m.range.location + m.range.length
        }
        return out + ns.substring(from: last)
    }
}

/// A `model` that names a stored prompt: `prompt:NAME`, `prompt:NAME@LABEL` or `prompt:NAME@3`.
public struct PromptReference: Sendable, Equatable {
    public enum Selector: Sendable, Equatable {
        case latest
        case version(Int)
        case label(String)
    }

    public static let scheme = "prompt:"
    public var name: String
    public var selector: Selector

    public init(name: String, selector: Selector) {
        self.name = name
        self.selector = selector
    }

    /// The reference in `model`, or nil when `model` does not start with `prompt:`.
    public init?(model: String) {
        guard model.hasPrefix(Self.scheme) else { return nil }
        let rest = model.dropFirst(Self.scheme.count)
        if let at = rest.lastIndex(of: "@") {
            name = String(rest[..<at])
            let tail = String(rest[rest.index(after: at)...])
            selector = Int(tail).map(Selector.version) ?? .label(tail)
        } else {
            name = String(rest)
            selector = .latest
        }
    }

    /// Whether a prompt or label name is usable in a URL path and a `model` string.
    public static func isValidName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 100 && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
            && !s.allSatisfy(\.isNumber)
    }
}
