// The token table shared by both models: texts, types, scores, a text-to-id index and the bytes
// each token stands for when decoded ("pieces", as llama.cpp calls them).

/// Token attributes as llama.cpp derives them from the token types (one token may gain `control`
/// when its text marks it as an end-of-turn or fill-in-the-middle token).
struct TokenAttributes: OptionSet, Sendable {
    let rawValue: UInt8
    static let undefined = TokenAttributes(rawValue: 1 << 0)
    static let unknown = TokenAttributes(rawValue: 1 << 1)
    static let unused = TokenAttributes(rawValue: 1 << 2)
    static let normal = TokenAttributes(rawValue: 1 << 3)
    static let control = TokenAttributes(rawValue: 1 << 4)
    static let userDefined = TokenAttributes(rawValue: 1 << 5)
    static let byte = TokenAttributes(rawValue: 1 << 6)

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init(_ type: TokenType) {
        switch type {
        case .undefined: self = .undefined
        case .normal: self = .normal
        case .unknown: self = .unknown
        case .control: self = .control
        case .userDefined: self = .userDefined
        case .unused: self = .unused
        case .byte: self = .byte
        }
    }
}

struct Vocabulary: Sendable {
    let texts: [String]
    let types: [TokenType]
    var attributes: [TokenAttributes]
    let scores: [Float]
    /// Token text bytes → id (a later duplicate text wins, as in older llama.cpp).
    let index: ByteStringTable
    /// The UTF-8 bytes of every token text, back to back.
    let textPool: [UInt8]
    let textStarts: [Int32]

    var count: Int { texts.count }

    init(tokens: [String], types: [TokenType], scores: [Float]) {
        texts = tokens
        self.types = types.isEmpty ? [TokenType](repeating: .normal, count: tokens.count) : types
        attributes = self.types.map(TokenAttributes.init)
        self.scores = scores.isEmpty ? [Float](repeating: 0, count: tokens.count) : scores
        var pool: [UInt8] = []
        pool.reserveCapacity(tokens.count * 8)
        var starts: [Int32] = [0]
        starts.reserveCapacity(tokens.count + 1)
        for var t in tokens {
            t.withUTF8 { pool.append(contentsOf: $0) }
            starts.append(Int32(pool.count))
        }
        index = ByteStringTable(pool: pool, starts: starts, values: (0..<Int32(tokens.count)).map { $0 })
        textPool = pool
        textStarts = starts
    }

    @inline(__always)
    func id(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32 { index.lookup(p, n) }

    func id(of text: String) -> TokenID? {
        let v = index.lookup(Array(text.utf8))
        return v >= 0 ? v : nil
    }

    func textBytes(_ id: Int) -> ArraySlice<UInt8> { textPool[Int(textStarts[id])..<Int(textStarts[id + 1])] }

    func isValid(_ id: TokenID) -> Bool { id >= 0 && Int(id) < texts.count }
}
