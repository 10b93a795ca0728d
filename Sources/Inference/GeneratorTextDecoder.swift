import Tokenizers

/// The generator's incremental UTF-8 assembly: the tokenizers' own, so both never emit half a
/// character in the same way.
public typealias StreamingUTF8Decoder = UTF8Assembler
