import Foundation

/// Masks personal data before it is stored: email addresses, IBANs (mod-97 checked), card
/// numbers (13–19 digits, Luhn checked) and phone numbers (7–15 digits with an optional `+`,
/// spaces, dashes and brackets; not ISO dates). Each match becomes a marker such as `[EMAIL]`,
/// so a reader sees what was removed.
public struct Redactor: Sendable {
    public init() {}

    public func redact(_ text: String) -> String {
        var out = text
        out = Self.replace(Self.email, in: out) { _ in "[EMAIL]" }
        out = Self.replace(Self.iban, in: out) { Self.isIBAN($0) ? "[IBAN]" : nil }
        out = Self.replace(Self.card, in: out) { Self.isCardNumber($0) ? "[CARD]" : nil }
        out = Self.replace(Self.phone, in: out) { m in
            let digits = m.filter(\.isASCIIDigit).count
            return (7...15).contains(digits) && !Self.looksLikeDate(m) ? "[PHONE]" : nil
        }
        return out
    }

    static let email = try! NSRegularExpression(
        pattern: #"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"#)
    static let iban = try! NSRegularExpression(
        pattern: #"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b"#)
    static let card = try! NSRegularExpression(
        pattern: #"(?<![0-9])[0-9](?:[ \-]?[0-9]){12,18}(?![0-9])"#)
    // Dots are not phone separators here, so IP addresses and version numbers stay.
    static let phone = try! NSRegularExpression(
        pattern: #"(?<![0-9A-Za-z.])\+?\(?[0-9][0-9 ()\-]{5,}[0-9](?![0-9.])"#)
    static let date = try! NSRegularExpression(pattern: #"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"#)

    static func looksLikeDate(_ text: String) -> Bool {
        date.firstMatch(in: text, range: NSRange(location: 0, length: (text as NSString).length)) != nil
    }

    /// Replaces each match for which `mask` returns a marker; other matches stay.
    static func replace(_ regex: NSRegularExpression, in text: String, mask: (String) -> String?) -> String {
        let ns = text as NSString
        var out = ""
        var last = 0
        for m in regex.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            let found = ns.substring(with: m.range)
            guard let marker = mask(found) else { continue }
            out += ns.substring(with: NSRange(location: last, length: m.range.location - last)) + marker
            last = m.range.location + m.range.length
        }
        return out + ns.substring(from: last)
    }

    /// The Luhn checksum over the digits (separators ignored).
    public static func isCardNumber(_ text: String) -> Bool {
        let digits = text.compactMap(\.wholeNumberValue)
        guard (13...19).contains(digits.count) else { return false }
        var sum = 0
        for (i, d) in digits.reversed().enumerated() {
            let v = i % 2 == 1 ? d * 2 : d
            sum += v > 9 ? v - 9 : v
        }
        return sum % 10 == 0
    }

    /// ISO 13616: move the first four characters to the end, letters to 10…35, remainder 1 mod 97.
    public static func isIBAN(_ text: String) -> Bool {
        let chars = Array(text.filter { $0 != " " })
        guard (15...34).contains(chars.count) else { return false }
        var remainder = 0
        for c in chars[4...] + chars[..<4] {
            guard let v = c.wholeNumberValue ?? c.asciiValue.flatMap({ $0 >= 65 && $0 <= 90 ? Int($0) - 55 : nil }) else {
                return false
            }
            for digit in String(v) { remainder = (remainder * 10 + digit.wholeNumberValue!) % 97 }
        }
        return remainder == 1
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
