// GBNF for integers and numbers within bounds. Integer ranges are exact: a range of decimal
// strings is split into runs of equal length, and each run into a prefix that is fixed, one digit
// that varies within a range, and free digits after it. Numbers with a fraction are allowed only
// on integer parts whose whole unit interval lies inside the bounds, so every output is in range
// (some in-range values, like 0.5 for minimum 0.25, cannot be produced). Exponents are only
// produced for unbounded numbers.

enum JSONNumberGrammar {
    /// The most digits an integer part may have; beyond it JSON parsers lose precision anyway.
    static let maxDigits = 18
    static let limit: Int64 = 999_999_999_999_999_999

    /// Integers in `lo...hi` (either side may be open), as one GBNF expression.
    static func integer(_ lo: Int64?, _ hi: Int64?) -> String {
        let a = max(lo ?? -limit, -limit), b = min(hi ?? limit, limit)
        guard a <= b else { return "" }
        var alts: [String] = []
        if a < 0 {
            // Negative part: "-" then magnitudes in max(1, -b)...(-a).
            let mlo = max(1, b < 0 ? -b : 1), mhi = -a
            if mlo <= mhi { alts.append("\"-\" " + group(nonNegative(mlo, mhi))) }
        }
        if b >= 0 { alts.append(nonNegative(max(0, a), b)) }
        return group(alts.joined(separator: " | "))
    }

    /// Non-negative integers in `a...b`, without leading zeros.
    static func nonNegative(_ a: Int64, _ b: Int64) -> String {
        var alts: [String] = []
        var lo = a
        while lo <= b {
            let d = digits(lo)
            let top = d >= 19 ? Int64.max : pow10(d) - 1
            let hi = min(b, top)
            alts.append(sameLength(Array(String(lo).utf8), Array(String(hi).utf8)))
            if hi == Int64.max || hi >= b { break }
            lo = hi + 1
        }
        return alts.joined(separator: " | ")
    }

    /// Decimal strings of one length between `l` and `h` inclusive.
    private static func sameLength(_ l: [UInt8], _ h: [UInt8]) -> String {
        if l.isEmpty { return "" }
        let l0 = l[0], h0 = h[0], rest = l.count - 1
        if l0 == h0 {
            return join(lit(l0), group(sameLength(Array(l.dropFirst()), Array(h.dropFirst()))))
        }
        if rest == 0 { return range(l0, h0) }
        var alts: [String] = []
        alts.append(join(lit(l0), group(atLeast(Array(l.dropFirst())))))
        if l0 + 1 <= h0 - 1 { alts.append(join(range(l0 + 1, h0 - 1), free(rest))) }
        alts.append(join(lit(h0), group(atMost(Array(h.dropFirst())))))
        return alts.joined(separator: " | ")
    }

    /// Strings of `s.count` digits (leading zeros allowed) with a value of at least `s`.
    private static func atLeast(_ s: [UInt8]) -> String {
        if s.allSatisfy({ $0 == UInt8(ascii: "0") }) { return free(s.count) }
        let s0 = s[0]
        if s.count == 1 { return range(s0, UInt8(ascii: "9")) }
        var alts = [join(lit(s0), group(atLeast(Array(s.dropFirst()))))]
        if s0 < UInt8(ascii: "9") { alts.append(join(range(s0 + 1, UInt8(ascii: "9")), free(s.count - 1))) }
        return alts.joined(separator: " | ")
    }

    /// Strings of `s.count` digits with a value of at most `s`.
    private static func atMost(_ s: [UInt8]) -> String {
        if s.allSatisfy({ $0 == UInt8(ascii: "9") }) { return free(s.count) }
        let s0 = s[0]
        if s.count == 1 { return range(UInt8(ascii: "0"), s0) }
        var alts = [join(lit(s0), group(atMost(Array(s.dropFirst()))))]
        if s0 > UInt8(ascii: "0") { alts.append(join(range(UInt8(ascii: "0"), s0 - 1), free(s.count - 1))) }
        return alts.joined(separator: " | ")
    }

    /// A number (integer part, optional fraction) within bounds; `exclusive` bounds exclude equality.
    static func number(min: Double?, max: Double?, exclusiveMin: Bool, exclusiveMax: Bool) -> String {
        if min == nil && max == nil {
            return "\"-\"? ( \"0\" | [1-9] [0-9]{0,15} ) ( \".\" [0-9]{1,15} )? ( [eE] [-+]? [0-9]{1,2} )?"
        }
        let lo = min ?? -Double(limit), hi = max ?? Double(limit)
        var alts: [String] = []
        // Whole numbers.
        let wlo = exclusiveMin ? (lo.rounded(.down) + 1) : lo.rounded(.up)
        let whi = exclusiveMax ? (hi.rounded(.up) - 1) : hi.rounded(.down)
        if wlo <= whi { alts.append(integer(clamp(wlo), clamp(whi))) }
        let fraction = "\".\" [0-9]{1,15}"
        // k.f with k >= 0 lies in [k, k+1): needs k >= lo (k > lo when exclusive) and k+1 <= hi.
        let klo = Swift.max(0, exclusiveMin ? lo.rounded(.down) + 1 : lo.rounded(.up))
        let khi = (hi - 1).rounded(.down)
        if klo <= khi { alts.append(integer(clamp(klo), clamp(khi)) + " " + fraction) }
        // -m.f lies in (-(m+1), -m]: needs -(m+1) >= lo and -m <= hi (-m < hi when exclusive).
        let mlo = Swift.max(0, exclusiveMax ? (-hi).rounded(.down) + 1 : (-hi).rounded(.up))
        let mhi = (-lo - 1).rounded(.down)
        if mlo <= mhi { alts.append("\"-\" " + integer(clamp(mlo), clamp(mhi)) + " " + fraction) }
        // At an exclusive whole bound, a non-zero fraction still moves the value inside.
        let nonZero = "\".\" [0-9]{0,14} [1-9]"
        if exclusiveMin, lo >= 0, lo == lo.rounded(), lo + 1 <= hi {
            alts.append(integer(clamp(lo), clamp(lo)) + " " + nonZero)
        }
        if exclusiveMax, hi <= 0, hi == hi.rounded(), hi - 1 >= lo {
            alts.append("\"-\" " + integer(clamp(-hi), clamp(-hi)) + " " + nonZero)
        }
        return group(alts.joined(separator: " | "))
    }

    private static func clamp(_ d: Double) -> Int64 {
        Int64(Swift.max(Swift.min(d, Double(limit)), -Double(limit)))
    }

    private static func digits(_ n: Int64) -> Int { String(n).count }

    private static func pow10(_ d: Int) -> Int64 {
        var p: Int64 = 1
        for _ in 0..<d { p *= 10 }
        return p
    }

    private static func lit(_ c: UInt8) -> String { "\"" + String(UnicodeScalar(c)) + "\"" }
    private static func range(_ a: UInt8, _ b: UInt8) -> String {
        a == b ? lit(a) : "[" + String(UnicodeScalar(a)) + "-" + String(UnicodeScalar(b)) + "]"
    }
    private static func free(_ n: Int) -> String { n == 0 ? "" : n == 1 ? "[0-9]" : "[0-9]{\(n)}" }
    private static func join(_ a: String, _ b: String) -> String { b.isEmpty || b == "()" ? a : a + " " + b }
    static func group(_ s: String) -> String { s.isEmpty ? "" : "(" + s + ")" }
}
