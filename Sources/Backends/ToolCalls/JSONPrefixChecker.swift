// Checks, byte by byte, that a text is the beginning of one JSON object: the tool-call parser
// streams a call's arguments as the model writes them, and releases only what can still be
// valid JSON (the point where a text stops being JSON is known at the byte that breaks it).

struct JSONPrefixChecker {
    private enum Container { case object, array }

    private enum NumberPart {
        case sign, zero, integer, dot, fraction, exponent, exponentSign, exponentDigits

        /// Whether a number may end here.
        var isWhole: Bool { self == .zero || self == .integer || self == .fraction || self == .exponentDigits }

        func next(_ b: UInt8) -> NumberPart? {
            let digit = (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
            let e = b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
            switch self {
            case .sign: return b == UInt8(ascii: "0") ? .zero : digit ? .integer : nil
            case .zero: return b == UInt8(ascii: ".") ? .dot : e ? .exponent : nil
            case .integer: return digit ? .integer : b == UInt8(ascii: ".") ? .dot : e ? .exponent : nil
            case .dot, .fraction: return digit ? .fraction : (self == .fraction && e) ? .exponent : nil
            case .exponent:
                return b == UInt8(ascii: "+") || b == UInt8(ascii: "-") ? .exponentSign : digit ? .exponentDigits : nil
            case .exponentSign, .exponentDigits: return digit ? .exponentDigits : nil
            }
        }
    }

    private enum State {
        case start
        case value
        case valueOrClose
        case keyOrClose
        case key
        case colon
        case commaOrClose
        case string(key: Bool)
        case escape(key: Bool)
        case unicode(key: Bool, left: Int)
        case number(NumberPart)
        case literal(ArraySlice<UInt8>)
        case done
    }

    private var stack: [Container] = []
    private var state = State.start

    /// Whether the object has closed.
    var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Takes the next byte if the text can still be JSON with it; false (state unchanged) if not.
    mutating func accept(_ b: UInt8) -> Bool {
        let space = b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09
        switch state {
        case .done:
            return false
        case .start:
            if space { return true }
            guard b == UInt8(ascii: "{") else { return false }
            stack.append(.object)
            state = .keyOrClose
        case .value:
            return space || begin(b)
        case .valueOrClose:
            if space { return true }
            if b == UInt8(ascii: "]") { close(); return true }
            return begin(b)
        case .keyOrClose, .key:
            if space { return true }
            if b == UInt8(ascii: "\"") {
                state = .string(key: true)
            } else if b == UInt8(ascii: "}"), case .keyOrClose = state {
                close()
            } else {
                return false
            }
        case .colon:
            if space { return true }
            guard b == UInt8(ascii: ":") else { return false }
            state = .value
        case .commaOrClose:
            if space { return true }
            let inObject = stack.last == .object
            if b == UInt8(ascii: ",") {
                state = inObject ? .key : .value
            } else if b == UInt8(ascii: inObject ? "}" : "]") {
                close()
            } else {
                return false
            }
        case .string(let key):
            if b == UInt8(ascii: "\"") {
                if key { state = .colon } else { afterValue() }
            } else if b == UInt8(ascii: "\\") {
                state = .escape(key: key)
            } else if b < 0x20 {
                return false
            }
        case .escape(let key):
            if b == UInt8(ascii: "u") {
                state = .unicode(key: key, left: 4)
            } else if Array("\"\\/bfnrt".utf8).contains(b) {
                state = .string(key: key)
            } else {
                return false
            }
        case .unicode(let key, let left):
            guard Self.isHex(b) else { return false }
            state = left == 1 ? .string(key: key) : .unicode(key: key, left: left - 1)
        case .number(let part):
            if let next = part.next(b) {
                state = .number(next)
                return true
            }
            guard part.isWhole else { return false }
            afterValue()
            if accept(b) { return true }
            state = .number(part)
            return false
        case .literal(let rest):
            guard b == rest.first else { return false }
            if rest.count == 1 { afterValue() } else { state = .literal(rest.dropFirst()) }
        }
        return true
    }

    private mutating func begin(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "{"): stack.append(.object); state = .keyOrClose
        case UInt8(ascii: "["): stack.append(.array); state = .valueOrClose
        case UInt8(ascii: "\""): state = .string(key: false)
        case UInt8(ascii: "-"): state = .number(.sign)
        case UInt8(ascii: "0"): state = .number(.zero)
        case UInt8(ascii: "1")...UInt8(ascii: "9"): state = .number(.integer)
        case UInt8(ascii: "t"): state = .literal(ArraySlice("rue".utf8))
        case UInt8(ascii: "f"): state = .literal(ArraySlice("alse".utf8))
        case UInt8(ascii: "n"): state = .literal(ArraySlice("ull".utf8))
        default: return false
        }
        return true
    }

    private mutating func close() {
        stack.removeLast()
        afterValue()
    }

    private mutating func afterValue() {
        state = stack.isEmpty ? .done : .commaOrClose
    }

    private static func isHex(_ b: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(b)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(b)
    }
}
