import Foundation

/// Python operator semantics: arithmetic, concatenation, comparison, membership.
extension Interpreter {
    // MARK: operators

    func negate(_ v: Value) throws -> Value {
        switch v {
        case .undefined(let u): throw ValueError(.undefined, u.hint)
        case .bool(let b): return .int(b ? -1 : 0)
        case .int(let i):
            let (r, o) = (0).subtractingReportingOverflow(i)
            if o { throw ValueError(.overflow, "integer overflow") }
            return .int(r)
        case .double(let d): return .double(-d)
        default: throw ValueError(.type, "bad operand type for unary -: '\(v.typeName)'")
        }
    }

    func binary(_ op: BinaryOp, _ a: Value, _ b: Value) throws -> Value {
        if op == .concat { return .string(pyStr(a) + pyStr(b)) }
        if op == .mod, case .string(let fmt) = a { return .string(try percentFormat(fmt, b)) }
        if case .undefined(let u) = a { throw ValueError(.undefined, u.hint) }
        if case .undefined(let u) = b { throw ValueError(.undefined, u.hint) }
        let unsupported = ValueError(.type, "unsupported operand type(s) for \(op.rawValue == "**" ? "** or pow()" : op.rawValue): '\(a.typeName)' and '\(b.typeName)'")
        if let x = a.asNumber, let y = b.asNumber {
            return try arith(op, x, y)
        }
        switch op {
        case .add:
            switch (a, b) {
            case (.string(let x), .string(let y)): return .string(x + y)
            case (.list(let x), .list(let y)): return .list(ListBox(x.items + y.items))
            case (.tuple(let x), .tuple(let y)): return .tuple(x + y)
            case (.string, _): throw ValueError(.type, "can only concatenate str (not \"\(b.typeName)\") to str")
            case (.list, _): throw ValueError(.type, "can only concatenate list (not \"\(b.typeName)\") to list")
            case (.tuple, _): throw ValueError(.type, "can only concatenate tuple (not \"\(b.typeName)\") to tuple")
            default: throw unsupported
            }
        case .mul:
            func repeatCount(_ n: Value) -> Int? {
                if case .int(let i) = n.asNumber ?? .none { return max(0, i) }
                return nil
            }
            switch (a, b) {
            case (.string(let s), _) where repeatCount(b) != nil:
                let n = repeatCount(b)!
                if s.utf8.count * n > Interpreter.maxOutput { throw ValueError(.overflow, "repeated string is too long") }
                return .string(String(repeating: s, count: n))
            case (_, .string(let s)) where repeatCount(a) != nil:
                let n = repeatCount(a)!
                if s.utf8.count * n > Interpreter.maxOutput { throw ValueError(.overflow, "repeated string is too long") }
                return .string(String(repeating: s, count: n))
            case (.tuple(let t), _) where repeatCount(b) != nil:
                let n = repeatCount(b)!
                if t.count * n > 10_000_000 { throw ValueError(.overflow, "repeated tuple is too long") }
                return .tuple(Array([[Value]](repeating: t, count: n).joined()))
            case (_, .tuple(let t)) where repeatCount(a) != nil:
                let n = repeatCount(a)!
                if t.count * n > 10_000_000 { throw ValueError(.overflow, "repeated tuple is too long") }
                return .tuple(Array([[Value]](repeating: t, count: n).joined()))
            case (.list(let l), _) where repeatCount(b) != nil:
                let n = repeatCount(b)!
                if l.items.count * n > 10_000_000 { throw ValueError(.overflow, "repeated list is too long") }
                return .list(ListBox(Array([[Value]](repeating: l.items, count: n).joined())))
            case (_, .list(let l)) where repeatCount(a) != nil:
                let n = repeatCount(a)!
                if l.items.count * n > 10_000_000 { throw ValueError(.overflow, "repeated list is too long") }
                return .list(ListBox(Array([[Value]](repeating: l.items, count: n).joined())))
            default:
                func isSeq(_ v: Value) -> Bool {
                    switch v {
                    case .string, .list, .tuple: return true
                    default: return false
                    }
                }
                if isSeq(a) { throw ValueError(.type, "can't multiply sequence by non-int of type '\(b.typeName)'") }
                if isSeq(b) { throw ValueError(.type, "can't multiply sequence by non-int of type '\(a.typeName)'") }
                throw unsupported
            }
        case .mod:
            if case .string(let fmt) = a { return .string(try percentFormat(fmt, b)) }
            throw unsupported
        default:
            throw unsupported
        }
    }

    func arith(_ op: BinaryOp, _ x: Value, _ y: Value) throws -> Value {
        if case .int(let i) = x, case .int(let j) = y {
            switch op {
            case .add:
                let (r, o) = i.addingReportingOverflow(j)
                if o { throw ValueError(.overflow, "integer overflow") }
                return .int(r)
            case .sub:
                let (r, o) = i.subtractingReportingOverflow(j)
                if o { throw ValueError(.overflow, "integer overflow") }
                return .int(r)
            case .mul:
                let (r, o) = i.multipliedReportingOverflow(by: j)
                if o { throw ValueError(.overflow, "integer overflow") }
                return .int(r)
            case .div:
                if j == 0 { throw ValueError(.zeroDivision, "division by zero") }
                return .double(Double(i) / Double(j))
            case .floordiv:
                if j == 0 { throw ValueError(.zeroDivision, "integer division or modulo by zero") }
                if i == Int.min && j == -1 { throw ValueError(.overflow, "integer overflow") }
                var q = i / j
                if (i % j != 0) && ((i < 0) != (j < 0)) { q -= 1 }
                return .int(q)
            case .mod:
                if j == 0 { throw ValueError(.zeroDivision, "integer modulo by zero") }
                if j == -1 { return .int(0) }
                var r = i % j
                if r != 0 && ((r < 0) != (j < 0)) { r += j }
                return .int(r)
            case .pow:
                if j < 0 {
                    if i == 0 { throw ValueError(.zeroDivision, "0.0 cannot be raised to a negative power") }
                    return .double(Foundation.pow(Double(i), Double(j)))
                }
                var result = 1, base = i, e = j
                while e > 0 {
                    if e & 1 == 1 {
                        let (r, o) = result.multipliedReportingOverflow(by: base)
                        if o { throw ValueError(.overflow, "integer overflow") }
                        result = r
                    }
                    e >>= 1
                    if e > 0 {
                        let (r, o) = base.multipliedReportingOverflow(by: base)
                        if o { throw ValueError(.overflow, "integer overflow") }
                        base = r
                    }
                }
                return .int(result)
            case .concat:
                return .string(pyStr(x) + pyStr(y))
            }
        }
        let p = x.doubleValue, q = y.doubleValue
        switch op {
        case .add: return .double(p + q)
        case .sub: return .double(p - q)
        case .mul: return .double(p * q)
        case .div:
            if q == 0 { throw ValueError(.zeroDivision, "float division by zero") }
            return .double(p / q)
        case .floordiv:
            if q == 0 { throw ValueError(.zeroDivision, "float floor division by zero") }
            return .double(Foundation.floor(p / q))
        case .mod:
            if q == 0 { throw ValueError(.zeroDivision, "float modulo") }
            var r = Foundation.fmod(p, q)
            if r != 0 && ((r < 0) != (q < 0)) { r += q }
            return .double(r)
        case .pow:
            if p == 0 && q < 0 { throw ValueError(.zeroDivision, "0.0 cannot be raised to a negative power") }
            let r = Foundation.pow(p, q)
            if r.isInfinite && p.isFinite && q.isFinite { throw ValueError(.overflow, "(34, 'Numerical result out of range')") }
            if r.isNaN && !p.isNaN && !q.isNaN { throw ValueError(.value, "math domain error") }
            return .double(r)
        case .concat:
            return .string(pyStr(x) + pyStr(y))
        }
    }

    func compare(_ op: CompareOp, _ a: Value, _ b: Value) throws -> Bool {
        switch op {
        case .eq: return pyEqual(a, b)
        case .ne: return !pyEqual(a, b)
        case .lt, .le, .gt, .ge:
            if case .undefined(let u) = a { throw ValueError(.undefined, u.hint) }
            if case .undefined(let u) = b { throw ValueError(.undefined, u.hint) }
            let c = try pyCompare(a, b, op: op.rawValue)
            if c == 2 { return false }
            switch op {
            case .lt: return c < 0
            case .le: return c <= 0
            case .gt: return c > 0
            default: return c >= 0
            }
        case .in: return try contains(b, a)
        case .notIn: return !(try contains(b, a))
        }
    }

    func contains(_ container: Value, _ item: Value) throws -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let sub) = item else {
                if case .undefined(let u) = item { throw ValueError(.undefined, u.hint) }
                throw ValueError(.type, "'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return sub.isEmpty || pyFind(s, sub) >= 0
        case .list(let l): return l.items.contains { pyEqual($0, item) }
        case .tuple(let t): return t.contains { pyEqual($0, item) }
        case .dict(let d):
            try checkHashable(item)
            return d.get(item) != nil
        case .undefined: return false
        case .iterator(let it):
            while let x = try it.next() {
                if pyEqual(x, item) { return true }
            }
            return false
        case .namespace: throw ValueError(.type, "argument of type 'Namespace' is not iterable")
        default: throw ValueError(.type, "argument of type '\(container.typeName)' is not iterable")
        }
    }

    func percentFormat(_ fmt: String, _ arg: Value) throws -> String {
        try PercentFormat.format(fmt, arg)
    }
}
