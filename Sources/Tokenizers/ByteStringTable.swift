// Open-addressing hash tables for the tokenizer's hot lookups: byte strings (token texts) to ids,
// and packed id pairs (BPE merges) to values. Keys are looked up through raw pointers so that a
// lookup of a slice of the input never allocates.

@inline(__always)
func hashBytes(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
    // FNV-1a, then a final avalanche so that the low bits are usable as a table index.
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for i in 0..<n { h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01b3 }
    h ^= h >> 29
    h = h &* 0xbf58_476d_1ce4_e5b9
    return h ^ (h >> 32)
}

/// An immutable set of byte strings stored back to back in one pool; each string maps to an Int32.
struct ByteStringTable: Sendable {
    private let pool: [UInt8]
    private let starts: [Int32]  // entry i is pool[starts[i] ..< starts[i + 1]]
    private let values: [Int32]
    private let slots: [Int32]  // entry index, or -1 for an empty slot
    private let mask: Int

    var count: Int { values.count }

    /// Later duplicates of a key replace earlier ones.
    init(keys: [[UInt8]], values: [Int32]) {
        var pool: [UInt8] = []
        pool.reserveCapacity(keys.reduce(0) { $0 + $1.count })
        var starts: [Int32] = [0]
        starts.reserveCapacity(keys.count + 1)
        for k in keys {
            pool.append(contentsOf: k)
            starts.append(Int32(pool.count))
        }
        self.init(pool: pool, starts: starts, values: values)
    }

    init(pool: [UInt8], starts: [Int32], values: [Int32]) {
        var capacity = 16
        while capacity < values.count * 2 { capacity <<= 1 }
        var slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        pool.withUnsafeBufferPointer { pb in
            let base = pb.baseAddress ?? UnsafePointer(bitPattern: 1)!
            for e in 0..<values.count {
                let s = Int(starts[e]), n = Int(starts[e + 1]) - s
                var i = Int(truncatingIfNeeded: hashBytes(base + s, n)) & mask
                while true {
                    let cur = Int(slots[i])
                    if cur < 0 { slots[i] = Int32(e); break }
                    let cs = Int(starts[cur]), cn = Int(starts[cur + 1]) - cs
                    if cn == n && (n == 0 || memcmpBytes(base + cs, base + s, n)) { slots[i] = Int32(e); break }
                    i = (i + 1) & mask
                }
            }
        }
        self.pool = pool
        self.starts = starts
        self.values = values
        self.slots = slots
        self.mask = mask
    }

    /// The value stored for the `n` bytes at `p`, or -1.
    @inline(__always)
    func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
        var i = Int(truncatingIfNeeded: hashBytes(p, n)) & mask
        return pool.withUnsafeBufferPointer { pb in
            starts.withUnsafeBufferPointer { st in
                slots.withUnsafeBufferPointer { sl in
                    while true {
                        let e = Int(sl[i])
                        if e < 0 { return -1 }
                        let s = Int(st[e]), cn = Int(st[e + 1]) - s
                        if cn == n && (n == 0 || memcmpBytes(pb.baseAddress! + s, p, n)) { return values[e] }
                        i = (i + 1) & mask
                    }
                }
            }
        }
    }

    func lookup(_ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else {
                var zero: UInt8 = 0
                return withUnsafePointer(to: &zero) { lookup($0, 0) }
            }
            return lookup(base, b.count)
        }
    }
}

@inline(__always)
func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    var i = 0
    while i + 8 <= n {
        if UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self) {
            return false
        }
        i += 8
    }
    while i < n {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}

/// UInt64 keys (two packed 32-bit ids) to UInt64 values; UInt64.max marks an empty slot.
struct PairTable: Sendable {
    private var keys: [UInt64]
    private var vals: [UInt64]
    private var mask: Int
    private(set) var count = 0

    init(minimumCapacity: Int) {
        var capacity = 16
        while capacity < minimumCapacity * 2 { capacity <<= 1 }
        keys = [UInt64](repeating: .max, count: capacity)
        vals = [UInt64](repeating: 0, count: capacity)
        mask = capacity - 1
    }

    @inline(__always)
    static func slot(_ key: UInt64, _ mask: Int) -> Int {
        var h = key &* 0x9e37_79b9_7f4a_7c15
        h ^= h >> 31
        return Int(truncatingIfNeeded: h) & mask
    }

    /// Inserts unless the key is present (the first insertion wins, like std::unordered_map::emplace).
    mutating func insertIfAbsent(_ key: UInt64, _ value: UInt64) {
        var i = Self.slot(key, mask)
        while keys[i] != .max {
            if keys[i] == key { return }
            i = (i + 1) & mask
        }
        keys[i] = key
        vals[i] = value
        count += 1
    }

    @inline(__always)
    func lookup(_ key: UInt64) -> UInt64? {
        keys.withUnsafeBufferPointer { k in
            var i = Self.slot(key, mask)
            while true {
                let c = k[i]
                if c == key { return vals[i] }
                if c == .max { return nil }
                i = (i + 1) & mask
            }
        }
    }
}
