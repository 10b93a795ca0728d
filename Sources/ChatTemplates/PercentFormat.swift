import Foundation

/// Python's `str % args` (printf-style formatting): `%s %r %d %i %f %e %g %x %o %c %%`, flags
/// `-+ 0#`, width, precision, `*`, and `%(name)s` with a dict argument.
enum PercentFormat {
    static func format(_ fmt: String, _ arg: Value) throws -> String {
        var args: [Value]
        var mapping: DictBox? = nil
        switch arg {
        case .tuple(let t): args = t
        case .dict(let d): args = [arg]; mapping = d
        default: args = [arg]
        }
        let isTuple: Bool = { if case .tuple = arg { return true }; return false }()
        // Python treats any non-tuple, non-str object with __getitem__ as a mapping for the
        // "not all arguments converted" check.
        let mappingLike: Bool = {
            switch arg {
            case .dict, .list, .undefined: return true
            default: return false
            }
        }()
        var used = 0
        func nextArg() throws -> Value {
            guard used < args.count else { throw ValueError(.type, "not enough arguments for format string") }
            used += 1
            return args[used - 1]
        }
        let sc = fmt.scalars
        var out = ""
        var i = 0
        var usedMapping = false
        while i < sc.count {
            let c = sc[i]
            guard c == "%" else { out.unicodeScalars.append(c); i += 1; continue }
            i += 1
            guard i < sc.count else { throw ValueError(.value, "incomplete format") }
            var value: Value? = nil
            if sc[i] == "(" {
                guard let m = mapping else { throw ValueError(.type, "format requires a mapping") }
                var depth = 1
                var j = i + 1
                while j < sc.count, depth > 0 {
                    if sc[j] == "(" { depth += 1 } else if sc[j] == ")" { depth -= 1 }
                    j += 1
                }
                guard depth == 0 else { throw ValueError(.value, "incomplete format key") }
                let key = String(scalars: sc[(i + 1)..<(j - 1)])
                guard let v = m.get(key) else { throw ValueError(.runtime, "KeyError: '\(key)'") }
                value = v
                usedMapping = true
                i = j
            }
            var flags = Set<Unicode.Scalar>()
            while i < sc.count, "-+ #0".unicodeScalars.contains(sc[i]) { flags.insert(sc[i]); i += 1 }
            var width: Int? = nil
            if i < sc.count, sc[i] == "*" {
                guard case .int(let w) = try nextArg().asNumber ?? .none else { throw ValueError(.type, "* wants int") }
                width = w
                i += 1
            } else {
                var w = 0, any = false
                while i < sc.count, let d = sc[i].properties.numericType != nil ? Int(String(sc[i])) : nil { w = w * 10 + d; i += 1; any = true }
                if any { width = w }
            }
            var precision: Int? = nil
            if i < sc.count, sc[i] == "." {
                i += 1
                if i < sc.count, sc[i] == "*" {
                    guard case .int(let p) = try nextArg().asNumber ?? .none else { throw ValueError(.type, "* wants int") }
                    precision = p
                    i += 1
                } else {
                    var p = 0
                    while i < sc.count, let d = sc[i].properties.numericType != nil ? Int(String(sc[i])) : nil { p = p * 10 + d; i += 1 }
                    precision = p
                }
            }
            while i < sc.count, "hlL".unicodeScalars.contains(sc[i]) { i += 1 }
            guard i < sc.count else { throw ValueError(.value, "incomplete format") }
            let conv = sc[i]
            i += 1
            if conv == "%" { out += "%"; continue }
            let v = try value ?? nextArg()
            var body: String
            var numeric = false
            switch conv {
            case "s":
                body = pyStr(v)
                if let p = precision { body = String(scalars: body.scalars.prefix(p)) }
            case "r", "a":
                body = pyRepr(v)
                if let p = precision { body = String(scalars: body.scalars.prefix(p)) }
            case "d", "i", "u":
                guard let n = v.asNumber else {
                    throw ValueError(.type, "%\(conv) format: a real number is required, not \(v.typeName)")
                }
                var iv: Int
                if case .double(let d) = n {
                    guard d.isFinite, let t = Int(exactly: d.rounded(.towardZero)) else {
                        throw ValueError(.overflow, "cannot convert float infinity to integer")
                    }
                    iv = t
                } else if case .int(let t) = n { iv = t } else { iv = 0 }
                body = String(iv.magnitude)
                if let p = precision, body.count < p { body = String(repeating: "0", count: p - body.count) + body }
                body = signed(body, negative: iv < 0, flags)
                numeric = true
            case "x", "X", "o":
                guard case .int(let iv) = v.asNumber ?? .none else {
                    throw ValueError(.type, "%\(conv) format: an integer is required, not \(v.typeName)")
                }
                body = String(iv.magnitude, radix: conv == "o" ? 8 : 16, uppercase: conv == "X")
                if let p = precision, body.count < p { body = String(repeating: "0", count: p - body.count) + body }
                if flags.contains("#") { body = (conv == "o" ? "0o" : (conv == "X" ? "0X" : "0x")) + body }
                body = signed(body, negative: iv < 0, flags)
                numeric = true
            case "f", "F", "e", "E", "g", "G":
                guard let n = v.asNumber else { throw ValueError(.type, "must be real number, not \(v.typeName)") }
                let d = n.doubleValue
                if d.isNaN || d.isInfinite {
                    body = d.isNaN ? "nan" : "inf"
                    if conv.properties.isUppercase { body = body.uppercased() }
                    body = signed(body, negative: d < 0, flags)
                } else {
                    let p = precision ?? 6
                    let cf = "%" + (flags.contains("#") ? "#" : "") + ".\(p)" + String(conv)
                    body = String(format: cf, abs(d))
                    body = signed(body, negative: d.sign == .minus, flags)
                }
                numeric = true
            case "c":
                switch v {
                case .int(let n):
                    guard let u = Unicode.Scalar(UInt32(clamping: max(0, n))) else { throw ValueError(.overflow, "%c arg not in range(0x110000)") }
                    body = String(u)
                case .string(let s) where s.unicodeScalars.count == 1: body = s
                default: throw ValueError(.type, "%c requires int or char")
                }
            default:
                throw ValueError(.value, "unsupported format character '\(conv)' (0x\(String(conv.value, radix: 16))) at index \(i - 1)")
            }
            if let w = width, body.unicodeScalars.count < w {
                let pad = w - body.unicodeScalars.count
                if flags.contains("-") {
                    body += String(repeating: " ", count: pad)
                } else if numeric && flags.contains("0") {
                    // zeros go after the sign / prefix
                    var prefixLen = 0
                    let bs = body.scalars
                    if let f = bs.first, f == "-" || f == "+" || f == " " { prefixLen = 1 }
                    if bs.count >= prefixLen + 2, bs[prefixLen] == "0", "xXo".unicodeScalars.contains(bs[prefixLen + 1]) { prefixLen += 2 }
                    body = String(scalars: bs[..<prefixLen]) + String(repeating: "0", count: pad) + String(scalars: bs[prefixLen...])
                } else {
                    body = String(repeating: " ", count: pad) + body
                }
            }
            out += body
        }
        if mapping != nil && usedMapping { return out }
        if used < args.count && (isTuple || !mappingLike) {
            throw ValueError(.type, "not all arguments converted during string formatting")
        }
        return out
    }

    static func signed(_ body: String, negative: Bool, _ flags: Set<Unicode.Scalar>) -> String {
        if negative { return "-" + body }
        if flags.contains("+") { return "+" + body }
        if flags.contains(" ") { return " " + body }
        return body
    }
}
