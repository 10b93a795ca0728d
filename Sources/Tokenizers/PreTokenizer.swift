// Pre-tokenizers: split text into the words BPE runs on. llama.cpp and Hugging Face express these
// as regexes; here each regex is a hand-written scanner over code points with the same leftmost-
// first alternation, greedy quantifiers and `\s+(?!\S)` backtracking. As in llama.cpp, a list of
// regexes is applied in turn, each splitting the pieces of the previous one, and text a regex does
// not match stays as a piece of its own.

/// One regex of a pre-tokenizer.
enum SplitStage: Sendable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)` (GPT-2).
    case gpt2
    /// `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,k}|
    ///  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` with k = 3 (Llama 3) or 1 (Qwen2).
    case llama3(maxDigits: Int)
    /// `\p{N}`: every number character alone.
    case singleNumbers
    /// `\p{N}+`.
    case numberRuns
    /// `[\p{P}\$\+<=>\^~\|]+`.
    case punctuationRuns
    /// `[0-9][0-9][0-9]`.
    case asciiDigitTriples
}

/// A pre-tokenizer named by `tokenizer.ggml.pre`.
public struct PreTokenizer: Sendable {
    public let name: String
    let stages: [SplitStage]

    /// The names llama.cpp maps to each regex list (only those whose regexes are implemented here).
    public init(name: String?) throws(TokenizerError) {
        let n = name ?? "default"
        self.name = n
        switch n {
        case "default":
            stages = [.punctuationRuns, .gpt2, .numberRuns, .asciiDigitTriples]
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
             "dbrx", "smaug-bpe", "glm4", "chatglm-bpe":
            stages = [.llama3(maxDigits: 3)]
        case "qwen2", "deepseek-r1-qwen", "megrez", "stablelm2", "hunyuan", "grok-2":
            stages = [.llama3(maxDigits: 1)]
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b":
            stages = [.singleNumbers, .gpt2]
        case "gpt-2", "gpt2", "phi-2", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de", "mpt", "olmo",
             "jais", "trillion", "exaone4", "gigachat", "mellum", "modern-bert", "roberta-bpe",
             "jina-v1-en", "jina-v2-code":
            stages = [.gpt2]
        default:
            throw .unsupportedPreTokenizer(n)
        }
    }

    /// Whether llama.cpp skips merging for words that are whole tokens (`ignore_merges`).
    var ignoresMerges: Bool {
        ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"].contains(name)
    }

    /// Whether llama.cpp turns add_bos on for this pre-tokenizer before reading the metadata.
    var addsBOSByDefault: Bool { ignoresMerges }

    /// Splits `text` into words, returned as byte ranges (pairs of start and end offsets).
    public func split(_ text: String) -> [Range<Int>] {
        var s = text
        var scratch = PreTokenizerScratch()
        var words: [Int32] = []
        s.withUTF8 { split($0, scalars: &scratch.scalars, pieces: &scratch.pieces, next: &scratch.next, words: &words) }
        return stride(from: 0, to: words.count, by: 2).map { Int(words[$0])..<Int(words[$0 + 1]) }
    }

    /// Splits `bytes` into words, appending (start, end) byte offsets to `words`.
    func split(
        _ bytes: UnsafeBufferPointer<UInt8>, scalars: inout ScalarBuffer, pieces: inout [Int32],
        next: inout [Int32], words: inout [Int32]
    ) {
        scalars.load(bytes)
        let n = scalars.count
        guard n > 0 else { return }
        pieces.removeAll(keepingCapacity: true)
        pieces.append(0)
        pieces.append(Int32(n))
        scalars.cps.withUnsafeBufferPointer { cps in
            scalars.flags.withUnsafeBufferPointer { flags in
                for stage in stages {
                    next.removeAll(keepingCapacity: true)
                    var k = 0
                    while k < pieces.count {
                        Self.apply(stage, cps, flags, Int(pieces[k]), Int(pieces[k + 1]), &next)
                        k += 2
                    }
                    swap(&pieces, &next)
                }
            }
        }
        scalars.offsets.withUnsafeBufferPointer { off in
            for p in pieces { words.append(off[Int(p)]) }
        }
    }

    @inline(__always)
    static func apply(
        _ stage: SplitStage, _ cps: UnsafeBufferPointer<UInt32>, _ flags: UnsafeBufferPointer<UInt8>,
        _ lo: Int, _ hi: Int, _ out: inout [Int32]
    ) {
        switch stage {
        case .gpt2: gpt2(cps, flags, lo, hi, &out)
        case let .llama3(maxDigits): llama3(cps, flags, lo, hi, maxDigits, &out)
        case .singleNumbers: runs(flags, lo, hi, &out, single: true)
        case .numberRuns: runs(flags, lo, hi, &out, single: false)
        case .punctuationRuns:
            runsByScalar(cps, flags, lo, hi, &out) { cp, f in
                f & CharClass.punctuation != 0 || cp == 0x24 || cp == 0x2B || cp == 0x3C || cp == 0x3D
                    || cp == 0x3E || cp == 0x5E || cp == 0x7E || cp == 0x7C
            }
        case .asciiDigitTriples: digitTriples(cps, lo, hi, &out)
        }
    }

    // MARK: - The scanners

    private static let apostrophe: UInt32 = 0x27
    private static let space: UInt32 = 0x20

    @inline(__always)
    private static func isOther(_ f: UInt8) -> Bool {
        f & (CharClass.valid | CharClass.whitespace | CharClass.letter | CharClass.number) == CharClass.valid
    }

    @inline(__always)
    private static func lower(_ c: UInt32) -> UInt32 { (c >= 0x41 && c <= 0x5A) ? c + 32 : c }

    /// Length of a contraction ('s 't 'm 'd 're 've 'll) starting at `pos`, or 0.
    @inline(__always)
    private static func contraction(
        _ cps: UnsafeBufferPointer<UInt32>, _ pos: Int, _ hi: Int, caseInsensitive: Bool
    ) -> Int {
        guard cps[pos] == apostrophe, pos + 1 < hi else { return 0 }
        let a = caseInsensitive ? lower(cps[pos + 1]) : cps[pos + 1]
        if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return 2 }  // s t m d
        guard pos + 2 < hi else { return 0 }
        let b = caseInsensitive ? lower(cps[pos + 2]) : cps[pos + 2]
        if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return 3 }  // re ve ll
        return 0
    }

    private static func gpt2(
        _ cps: UnsafeBufferPointer<UInt32>, _ flags: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int,
        _ out: inout [Int32]
    ) {
        @inline(__always) func flag(_ i: Int) -> UInt8 { i < hi ? flags[i] : 0 }
        var pos = lo
        while pos < hi {
            let start = pos
            let c = cps[pos]
            let k = contraction(cps, pos, hi, caseInsensitive: false)
            if k > 0 {
                pos += k
            } else {
                let f2 = c == space ? flag(pos + 1) : flags[pos]
                if f2 & CharClass.letter != 0 {
                    if c == space { pos += 1 }
                    while flag(pos) & CharClass.letter != 0 { pos += 1 }
                } else if f2 & CharClass.number != 0 {
                    if c == space { pos += 1 }
                    while flag(pos) & CharClass.number != 0 { pos += 1 }
                } else if isOther(f2) {
                    if c == space { pos += 1 }
                    while isOther(flag(pos)) { pos += 1 }
                } else {
                    var w = 0
                    while flag(pos + w) & CharClass.whitespace != 0 { w += 1 }
                    if w > 1 && pos + w < hi {
                        pos += w - 1  // \s+(?!\S): leave the last space to the word that follows
                    } else if w > 0 {
                        pos += w
                    } else {
                        pos += 1
                    }
                }
            }
            out.append(Int32(start))
            out.append(Int32(pos))
        }
    }

    private static func llama3(
        _ cps: UnsafeBufferPointer<UInt32>, _ flags: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int,
        _ maxDigits: Int, _ out: inout [Int32]
    ) {
        @inline(__always) func flag(_ i: Int) -> UInt8 { i < hi ? flags[i] : 0 }
        @inline(__always) func isNewline(_ i: Int) -> Bool { i < hi && (cps[i] == 0x0A || cps[i] == 0x0D) }
        var pos = lo
        while pos < hi {
            let c = cps[pos]
            let f = flags[pos]
            let k = contraction(cps, pos, hi, caseInsensitive: true)
            if k > 0 {
                out.append(Int32(pos)); out.append(Int32(pos + k))
                pos += k
                continue
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(c == 0x0A || c == 0x0D || f & CharClass.number != 0)
                && (f & CharClass.letter != 0 || flag(pos + 1) & CharClass.letter != 0)
            {
                let start = pos
                pos += 1
                while flag(pos) & CharClass.letter != 0 { pos += 1 }
                out.append(Int32(start)); out.append(Int32(pos))
                continue
            }
            // \p{N}{1,maxDigits}
            if f & CharClass.number != 0 {
                var start = pos
                while flag(pos) & CharClass.number != 0 {
                    pos += 1
                    if pos - start >= maxDigits {
                        out.append(Int32(start)); out.append(Int32(pos))
                        start = pos
                    }
                }
                if pos > start { out.append(Int32(start)); out.append(Int32(pos)) }
                continue
            }
            //  ?[^\s\p{L}\p{N}]+[\r\n]*
            let f2 = c == space ? flag(pos + 1) : f
            if isOther(f2) {
                let start = pos
                if c == space { pos += 1 }
                while isOther(flag(pos)) { pos += 1 }
                while isNewline(pos) { pos += 1 }
                out.append(Int32(start)); out.append(Int32(pos))
                continue
            }
            // \s*[\r\n]+ | \s+(?!\S) | \s+
            var w = 0
            var lastNewlineEnd = -1
            while flag(pos + w) & CharClass.whitespace != 0 {
                if cps[pos + w] == 0x0A || cps[pos + w] == 0x0D { lastNewlineEnd = pos + w + 1 }
                w += 1
            }
            let start = pos
            if lastNewlineEnd >= 0 {
                pos = lastNewlineEnd
            } else if w > 1 && pos + w < hi {
                pos += w - 1
            } else if w > 0 {
                pos += w
            } else {
                pos += 1
            }
            out.append(Int32(start)); out.append(Int32(pos))
        }
    }

    /// Runs of number characters (each alone when `single`), with the text between them kept as
    /// pieces.
    private static func runs(
        _ flags: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, _ out: inout [Int32], single: Bool
    ) {
        @inline(__always) func match(_ f: UInt8) -> Bool { f & CharClass.number != 0 }
        var pos = lo
        while pos < hi {
            let start = pos
            if match(flags[pos]) {
                pos += 1
                if !single { while pos < hi && match(flags[pos]) { pos += 1 } }
            } else {
                while pos < hi && !match(flags[pos]) { pos += 1 }
            }
            out.append(Int32(start)); out.append(Int32(pos))
        }
    }

    private static func runsByScalar(
        _ cps: UnsafeBufferPointer<UInt32>, _ flags: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int,
        _ out: inout [Int32], _ match: (UInt32, UInt8) -> Bool
    ) {
        var pos = lo
        while pos < hi {
            let start = pos
            let m = match(cps[pos], flags[pos])
            pos += 1
            while pos < hi && match(cps[pos], flags[pos]) == m { pos += 1 }
            out.append(Int32(start)); out.append(Int32(pos))
        }
    }

    private static func digitTriples(_ cps: UnsafeBufferPointer<UInt32>, _ lo: Int, _ hi: Int, _ out: inout [Int32]) {
        @inline(__always) func digit(_ i: Int) -> Bool { cps[i] >= 0x30 && cps[i] <= 0x39 }
        var gapStart = lo
        var pos = lo
        while pos + 3 <= hi {
            if digit(pos) && digit(pos + 1) && digit(pos + 2) {
                if pos > gapStart { out.append(Int32(gapStart)); out.append(Int32(pos)) }
                out.append(Int32(pos)); out.append(Int32(pos + 3))
                pos += 3
                gapStart = pos
            } else {
                pos += 1
            }
        }
        if hi > gapStart { out.append(Int32(gapStart)); out.append(Int32(hi)) }
    }
}

/// Reusable buffers for one encode call.
struct PreTokenizerScratch {
    var scalars = ScalarBuffer()
    var pieces: [Int32] = []
    var next: [Int32] = []
}
