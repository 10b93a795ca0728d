import ChatTemplates
import Foundation

/// Typed access to the fields of a JSON request body. A missing or null field reads as nil; a
/// field of the wrong type throws a 400 that names it, as OpenAI does. Unknown fields are never
/// looked at, so they are ignored.
struct RequestFields {
    let object: TemplateObject
    /// Prefix for nested parameter names (`stream_options.`).
    let prefix: String

    init(_ object: TemplateObject, prefix: String = "") {
        self.object = object
        self.prefix = prefix
    }

    /// Parses a request body: valid UTF-8 JSON whose top level is an object.
    static func parse(_ bytes: [UInt8]) throws(APIError) -> RequestFields {
        guard !bytes.isEmpty else {
            throw APIError(status: .badRequest, message: "The request body is empty; send a JSON object.", code: "invalid_json")
        }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw APIError(status: .badRequest, message: "The request body is not valid UTF-8.", code: "invalid_json")
        }
        let value: TemplateValue
        do {
            value = try TemplateValue(jsonData: Data(bytes))
        } catch {
            throw APIError(
                status: .badRequest,
                message: "We could not parse the JSON body of your request (\(error)). Send a JSON object.",
                code: "invalid_json")
        }
        guard case .object(let object) = value else {
            throw APIError(status: .badRequest, message: "The request body must be a JSON object.", code: "invalid_json")
        }
        return RequestFields(object)
    }

    private func name(_ key: String) -> String { prefix + key }

    private func value(_ key: String) -> TemplateValue? {
        guard let v = object[key], v != .null else { return nil }
        return v
    }

    func has(_ key: String) -> Bool { value(key) != nil }

    func string(_ key: String) throws(APIError) -> String? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else { throw .wrongType(name(key), expected: "a string") }
        return s
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .bool(let b) = v else { throw .wrongType(name(key), expected: "a boolean") }
        return b
    }

    /// An integer (a float with no fractional part is accepted, as JSON has one number type).
    func int(_ key: String) throws(APIError) -> Int? {
        guard let v = value(key) else { return nil }
        switch v {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.2e18: return Int(d)
        default: throw .wrongType(name(key), expected: "an integer")
        }
    }

    func number(_ key: String) throws(APIError) -> Double? {
        guard let v = value(key) else { return nil }
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: throw .wrongType(name(key), expected: "a number")
        }
    }

    /// A number within `range`, as a Float.
    func number(_ key: String, in range: ClosedRange<Double>) throws(APIError) -> Float? {
        guard let d = try number(key) else { return nil }
        guard range.contains(d) else {
            throw .invalidValue(name(key), "'\(name(key))' must be between \(Self.show(range.lowerBound)) and \(Self.show(range.upperBound)), got \(Self.show(d)).")
        }
        return Float(d)
    }

    func array(_ key: String) throws(APIError) -> [TemplateValue]? {
        guard let v = value(key) else { return nil }
        guard case .array(let a) = v else { throw .wrongType(name(key), expected: "an array") }
        return a
    }

    func object(_ key: String) throws(APIError) -> RequestFields? {
        guard let v = value(key) else { return nil }
        guard case .object(let o) = v else { throw .wrongType(name(key), expected: "an object") }
        return RequestFields(o, prefix: name(key) + ".")
    }

    /// A string or an array of strings (`stop`).
    func strings(_ key: String) throws(APIError) -> [String]? {
        guard let v = value(key) else { return nil }
        switch v {
        case .string(let s): return [s]
        case .array(let items):
            var out: [String] = []
            for item in items {
                guard case .string(let s) = item else { throw .wrongType(name(key), expected: "a string or an array of strings") }
                out.append(s)
            }
            return out
        default: throw .wrongType(name(key), expected: "a string or an array of strings")
        }
    }

    static func show(_ d: Double) -> String {
        d.rounded() == d && abs(d) < 1e15 ? String(Int(d)) : String(d)
    }
}
