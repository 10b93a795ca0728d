// WordPiece as BERT uses it (Hugging Face's BertNormalizer, BertPreTokenizer and WordPiece model):
// clean and lower-case the text, split it on whitespace and punctuation, then cut each word into
// the longest vocabulary pieces from the left, continuation pieces spelled with a "##" prefix.
// A word that cannot be cut completely becomes one unknown token.

import Foundation  // NFD decomposition for strip_accents only

/// BertNormalizer / WordPiece settings from tokenizer.json.
public struct WordPieceOptions: Sendable, Equatable {
    public var lowercase: Bool
    /// nil follows `lowercase`, as in Hugging Face.
    public var stripAccents: Bool?
    public var cleanText: Bool
    public var handleChineseChars: Bool
    public var continuingSubwordPrefix: String
    public var maxInputCharsPerWord: Int

    public init(
        lowercase: Bool = true, stripAccents: Bool? = nil, cleanText: Bool = true, handleChineseChars: Bool = true,
        continuingSubwordPrefix: String = "##", maxInputCharsPerWord: Int = 100
    ) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents
        self.cleanText = cleanText
        self.handleChineseChars = handleChineseChars
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }
}

struct WordPieceModel: Sendable {
    let options: WordPieceOptions
    let prefix: [UInt8]
    let unknown: TokenID

    init(options: WordPieceOptions, unknown: TokenID) {
        self.options = options
        prefix = Array(options.continuingSubwordPrefix.utf8)
        self.unknown = unknown
    }

    /// Encodes one stretch of raw text, appending token ids.
    func encode(_ bytes: UnsafeBufferPointer<UInt8>, vocab: Vocabulary, into out: inout [TokenID]) {
        for word in words(normalize(String(decoding: bytes, as: UTF8.self))) {
            encodeWord(word, vocab: vocab, into: &out)
        }
    }

    func normalize(_ text: String) -> [Unicode.Scalar] {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(text.unicodeScalars.count)
        for s in text.unicodeScalars {
            if options.cleanText {
                if s.value == 0 || s.value == 0xFFFD || Self.isControl(s) { continue }
                if Self.isWhitespace(s) { scalars.append(" "); continue }
            }
            if options.handleChineseChars && Self.isChinese(s.value) {
                scalars.append(" ")
                scalars.append(s)
                scalars.append(" ")
            } else {
                scalars.append(s)
            }
        }
        var s = String(String.UnicodeScalarView(scalars))
        if options.stripAccents ?? options.lowercase {
            s = String(s.decomposedStringWithCanonicalMapping.unicodeScalars.filter {
                $0.properties.generalCategory != .nonspacingMark
            }.map(Character.init))
        }
        if options.lowercase { s = s.lowercased() }
        return Array(s.unicodeScalars)
    }

    /// BertPreTokenizer: whitespace separates words; each punctuation character is a word.
    func words(_ scalars: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for s in scalars {
            if Self.isWhitespace(s) {
                if !current.isEmpty { words.append(current); current = [] }
            } else if Self.isPunctuation(s) {
                if !current.isEmpty { words.append(current); current = [] }
                words.append([s])
            } else {
                current.append(s)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    func encodeWord(_ word: [Unicode.Scalar], vocab: Vocabulary, into out: inout [TokenID]) {
        guard word.count <= options.maxInputCharsPerWord else { out.append(unknown); return }
        var utf8: [UInt8] = []
        var bounds: [Int] = [0]  // byte offset of each character boundary
        for s in word {
            utf8.append(contentsOf: String(s).utf8)
            bounds.append(utf8.count)
        }
        var pieces: [TokenID] = []
        var startChar = 0
        var candidate: [UInt8] = []
        while startChar < word.count {
            var endChar = word.count
            var found: TokenID = -1
            while endChar > startChar {
                candidate.removeAll(keepingCapacity: true)
                if startChar > 0 { candidate.append(contentsOf: prefix) }
                candidate.append(contentsOf: utf8[bounds[startChar]..<bounds[endChar]])
                let id = candidate.withUnsafeBufferPointer { vocab.id($0.baseAddress!, $0.count) }
                if id >= 0 { found = id; break }
                endChar -= 1
            }
            guard found >= 0 else { out.append(unknown); return }
            pieces.append(found)
            startChar = endChar
        }
        out.append(contentsOf: pieces)
    }

    // MARK: - Character classes (Hugging Face's bert helpers)

    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s == " " || s == "\t" || s == "\n" || s == "\r" || s.properties.isWhitespace
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }

    static func isChinese(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}
