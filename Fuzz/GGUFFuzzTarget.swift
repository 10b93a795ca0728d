// libFuzzer entry point for the GGUF reader. Built by Fuzz/run.sh together with the
// ModelFormats sources: every input must end in a parsed file or a ModelFileError.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let file = try? GGUFFile(bytes: bytes) else { return 0 }
    // Touch everything a caller would: metadata, summaries and every tensor's bytes.
    _ = GGUFSummary(file)
    for (_, value) in file.metadata { _ = value.description }
    var checksum: UInt8 = 0
    for tensor in file.tensors {
        let data = file.data(of: tensor)
        if let first = data.first, let last = data.last { checksum &+= first &+ last }
    }
    return checksum == 0xFF ? 0 : 0
}
