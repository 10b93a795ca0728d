// MARK: - Python string helpers (code point based)

extension String {
    var scalars: [Unicode.Scalar] { Array(unicodeScalars) }
    init(scalars: some Sequence<Unicode.Scalar>) {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars)
        self = String(v)
    }
}

func pyUpper(_ s: String) -> String { s.uppercased() }
func pyLower(_ s: String) -> String { s.lowercased() }

/// Python's `str.capitalize()`: first character in title case, the rest lower case.
func pyCapitalize(_ s: String) -> String {
    guard let f = s.unicodeScalars.first else { return s }
    let rest = String(scalars: s.unicodeScalars.dropFirst())
    return f.properties.titlecaseMapping + rest.lowercased()
}

/// Python's `str.isalpha()` for one code point (general category L*).
func isPyAlpha(_ c: Unicode.Scalar) -> Bool {
    switch c.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
    default: return false
    }
}

/// Python's `str.isalnum()` for one code point (what `\w` matches, with `_`).
func isPyAlnum(_ c: Unicode.Scalar) -> Bool {
    isPyAlpha(c) || c.properties.numericType != nil
}

/// Python's `str.title()`: a letter after a non-letter is uppercased, other letters lowercased.
func pyTitleMethod(_ s: String) -> String {
    var out = ""
    var prevCased = false
    for c in s.unicodeScalars {
        let isCased = c.properties.isCased
        if isCased {
            out += prevCased ? String(c).lowercased() : String(c).uppercased()
        } else {
            out.unicodeScalars.append(c)
        }
        prevCased = isCased
    }
    return out
}

/// Python `str.splitlines()` line boundaries.
func isLineBoundary(_ c: Unicode.Scalar) -> Bool {
    switch c.value {
    case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029: return true
    default: return false
    }
}

func pySplitlines(_ s: String, keepends: Bool = false) -> [String] {
    let sc = s.scalars
    var lines: [String] = []
    var start = 0
    var i = 0
    while i < sc.count {
        if isLineBoundary(sc[i]) {
            var end = i + 1
            if sc[i] == "\r", i + 1 < sc.count, sc[i + 1] == "\n" { end = i + 2 }
            lines.append(String(scalars: sc[start..<(keepends ? end : i)]))
            start = end
            i = end
        } else {
            i += 1
        }
    }
    if start < sc.count { lines.append(String(scalars: sc[start...])) }
    return lines
}

func pyStrip(_ s: String, chars: String?, left: Bool, right: Bool) -> String {
    let sc = s.scalars
    let set: Set<Unicode.Scalar>? = chars.map { Set($0.unicodeScalars) }
    func strip(_ c: Unicode.Scalar) -> Bool { set.map { $0.contains(c) } ?? isPySpace(c) }
    var lo = 0, hi = sc.count
    if left { while lo < hi, strip(sc[lo]) { lo += 1 } }
    if right { while hi > lo, strip(sc[hi - 1]) { hi -= 1 } }
    return String(scalars: sc[lo..<hi])
}

func pySplit(_ s: String, sep: String?, maxsplit: Int) throws -> [String] {
    let sc = s.scalars
    var out: [String] = []
    if let sep {
        let p = sep.scalars
        if p.isEmpty { throw ValueError(.value, "empty separator") }
        var start = 0, i = 0
        while i + p.count <= sc.count {
            if (maxsplit < 0 || out.count < maxsplit), sc[i] == p[0], Array(sc[i..<i + p.count]) == p {
                out.append(String(scalars: sc[start..<i]))
                i += p.count
                start = i
            } else {
                i += 1
            }
        }
        out.append(String(scalars: sc[start...]))
        return out
    }
    var i = 0
    while true {
        while i < sc.count, isPySpace(sc[i]) { i += 1 }
        if i >= sc.count { break }
        if maxsplit >= 0 && out.count >= maxsplit {
            var end = sc.count
            while end > i, isPySpace(sc[end - 1]) { end -= 1 }
            out.append(String(scalars: sc[i..<end]))
            break
        }
        let start = i
        while i < sc.count, !isPySpace(sc[i]) { i += 1 }
        out.append(String(scalars: sc[start..<i]))
    }
    return out
}

func pyRsplit(_ s: String, sep: String?, maxsplit: Int) throws -> [String] {
    if maxsplit < 0 { return try pySplit(s, sep: sep, maxsplit: -1) }
    // reverse trick: split the reversed string with the reversed separator
    let rev = String(scalars: s.unicodeScalars.reversed())
    let rsep = sep.map { String(scalars: $0.unicodeScalars.reversed()) }
    return try pySplit(rev, sep: rsep, maxsplit: maxsplit).reversed().map { String(scalars: $0.unicodeScalars.reversed()) }
}

func pyReplace(_ s: String, _ old: String, _ new: String, count: Int = -1) -> String {
    let sc = s.scalars, o = old.scalars, n = new.scalars
    var out: [Unicode.Scalar] = []
    var done = 0
    if o.isEmpty {
        for (idx, c) in sc.enumerated() {
            if count < 0 || done < count { out += n; done += 1 }
            out.append(c)
            _ = idx
        }
        if count < 0 || done < count { out += n }
        return String(scalars: out)
    }
    var i = 0
    while i < sc.count {
        if (count < 0 || done < count), i + o.count <= sc.count, sc[i] == o[0], Array(sc[i..<i + o.count]) == o {
            out += n
            i += o.count
            done += 1
        } else {
            out.append(sc[i])
            i += 1
        }
    }
    return String(scalars: out)
}

func pyFind(_ s: String, _ sub: String, reverse: Bool = false) -> Int {
    let sc = s.scalars, p = sub.scalars
    if p.count > sc.count { return -1 }
    let range = Array(0...(sc.count - p.count))
    for i in (reverse ? range.reversed() : range) where Array(sc[i..<i + p.count]) == p { return i }
    return -1
}

func pyCount(_ s: String, _ sub: String) -> Int {
    let sc = s.scalars, p = sub.scalars
    if p.isEmpty { return sc.count + 1 }
    var i = 0, n = 0
    while i + p.count <= sc.count {
        if Array(sc[i..<i + p.count]) == p { n += 1; i += p.count } else { i += 1 }
    }
    return n
}
