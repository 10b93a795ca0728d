import Models

/// The keys and values one sequence has produced so far, for every layer of a model.
///
/// Allocated once for `capacity` positions (F16 by default, as llama.cpp; F32 on request);
/// the memory is reserved up front but the OS only backs the pages a sequence actually reaches.
/// The model appends rows and advances `count`; `truncate(to:)` rolls back (e.g. to reuse a
/// prompt prefix), `reset()` empties it.
public final class KVCache: KVCacheStorage, @unchecked Sendable {
    public let layout: KVCacheLayout
    public var count: Int = 0
    private let keyBuffers: [UnsafeMutableRawPointer]
    private let valueBuffers: [UnsafeMutableRawPointer]

    /// A cache for `config`'s model holding up to `capacity` positions (defaults to the
    /// context length the model was trained for).
    public convenience init(config: ModelConfig, capacity: Int? = nil, element: KVCacheElement = .f16) throws(KVCacheError) {
        try self.init(layout: config.cacheLayout(capacity: capacity ?? config.contextLength, element: element))
    }

    public init(layout: KVCacheLayout) throws(KVCacheError) {
        guard layout.capacity > 0, layout.layers > 0, layout.keyWidth > 0, layout.valueWidth > 0 else {
            throw .invalidLayout(layout)
        }
        let (keyBytes, o1) = layout.capacity.multipliedReportingOverflow(by: layout.keyWidth * layout.element.byteCount)
        let (valueBytes, o2) = layout.capacity.multipliedReportingOverflow(by: layout.valueWidth * layout.element.byteCount)
        guard !o1, !o2 else { throw .invalidLayout(layout) }
        self.layout = layout
        keyBuffers = (0..<layout.layers).map { _ in .allocate(byteCount: keyBytes, alignment: 64) }
        valueBuffers = (0..<layout.layers).map { _ in .allocate(byteCount: valueBytes, alignment: 64) }
    }

    deinit {
        for p in keyBuffers { p.deallocate() }
        for p in valueBuffers { p.deallocate() }
    }

    public var capacity: Int { layout.capacity }
    /// Positions still free.
    public var remaining: Int { layout.capacity - count }
    /// Bytes reserved for keys and values.
    public var byteCount: Int { layout.layers * layout.capacity * (layout.keyWidth + layout.valueWidth) * layout.element.byteCount }

    public func keys(layer: Int) -> UnsafeMutableRawPointer { keyBuffers[layer] }
    public func values(layer: Int) -> UnsafeMutableRawPointer { valueBuffers[layer] }

    /// Forgets everything: the next token runs at position 0.
    public func reset() { count = 0 }

    /// Keeps the first `newCount` positions and forgets the rest.
    public func truncate(to newCount: Int) throws(KVCacheError) {
        guard (0...count).contains(newCount) else { throw .badTruncation(to: newCount, count: count) }
        count = newCount
    }
}

public enum KVCacheError: Error, Equatable, CustomStringConvertible, Sendable {
    case invalidLayout(KVCacheLayout)
    case badTruncation(to: Int, count: Int)

    public var description: String {
        switch self {
        case let .invalidLayout(l):
            "A KV cache of \(l.capacity) positions × \(l.layers) layers × (\(l.keyWidth) + \(l.valueWidth)) cannot be allocated: every size must be positive and the total must fit in memory."
        case let .badTruncation(to, count):
            "Cannot truncate the KV cache to \(to) positions: it holds \(count)."
        }
    }
}
