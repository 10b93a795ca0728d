// The opening of a call whose arguments can be streamed: `{"name": "<fn>", "arguments": {`
// (or `"parameters"`, Llama 3's key), the form Qwen, Hermes and Llama 3 write. Calls written any
// other way (another key order, OpenAI's nested shape, an array of calls) are parsed whole.

enum ToolCallHeader {
    enum Match: Equatable {
        /// A call to `name` whose arguments object starts at this UTF-8 offset.
        case call(name: String, argumentsStart: Int)
        /// The text so far may still become such an opening.
        case needMore
        case none
    }

    static func match(_ text: Substring, names: Set<String>?) -> Match {
        let b = Array(text.utf8)
        var i = 0
        func skipSpace() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        }
        /// nil when one of `options` is next (and consumed); else whether more text could match.
        func expect(_ options: String...) -> Match? {
            let rest = b[i...]
            var partial = false
            for option in options {
                let bytes = Array(option.utf8)
                if rest.starts(with: bytes) {
                    i += bytes.count
                    return nil
                }
                if bytes.starts(with: rest) { partial = true }
            }
            return partial ? .needMore : Match.none
        }
        skipSpace()
        if let m = expect("{") { return m }
        skipSpace()
        if let m = expect("\"name\"") { return m }
        skipSpace()
        if let m = expect(":") { return m }
        skipSpace()
        if let m = expect("\"") { return m }
        let nameStart = i
        while true {
            guard i < b.count else { return .needMore }
            if b[i] == UInt8(ascii: "\"") { break }
            if b[i] == UInt8(ascii: "\\") || b[i] < 0x20 { return .none }
            i += 1
        }
        let name = String(decoding: b[nameStart..<i], as: UTF8.self)
        guard !name.isEmpty, names?.contains(name) ?? true else { return .none }
        i += 1
        skipSpace()
        if let m = expect(",") { return m }
        skipSpace()
        if let m = expect("\"arguments\"", "\"parameters\"") { return m }
        skipSpace()
        if let m = expect(":") { return m }
        skipSpace()
        guard i < b.count else { return .needMore }
        return b[i] == UInt8(ascii: "{") ? .call(name: name, argumentsStart: i) : .none
    }
}
