import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A chat template (the Jinja source stored in a model's `tokenizer.chat_template`), parsed once
/// and rendered any number of times.
///
/// Rendering follows Python's jinja2 3.1 as Hugging Face transformers configures it:
/// `trim_blocks=True`, `lstrip_blocks=True`, the `loopcontrols` extension (`break`/`continue`),
/// the `{% generation %}` tag, `tojson` as `json.dumps(ensure_ascii=False, indent=...)`, and the
/// globals `raise_exception(message)` and `strftime_now(format)`, plus jinja2's `range`, `dict`,
/// `namespace`, `cycler` and `joiner`.
///
/// ```swift
/// let t = try ChatTemplate(source)
/// let prompt = try t.render([
///     "messages": [["role": "user", "content": "Hi"]],
///     "add_generation_prompt": true,
///     "bos_token": "<s>", "eos_token": "</s>",
/// ])
/// ```
public struct ChatTemplate: Sendable {
    let nodes: [Node]
    /// The template source as given.
    public let source: String

    /// Parses `source`. Throws a ``TemplateError`` of kind `.syntax` (with line and column) for
    /// unknown tags, filters and tests and for malformed expressions.
    public init(_ source: String) throws {
        var lexer = Lexer(source)
        let tokens = try lexer.tokenize()
        var parser = Parser(tokens: tokens)
        self.nodes = try parser.parseTemplate()
        self.source = source
    }

    init(nodes: [Node], source: String) {
        self.nodes = nodes
        self.source = source
    }

    /// The ChatML source used when a model ships no chat template. It is the template
    /// transformers historically used as its default (`default_chat_template`):
    ///
    /// ```jinja
    /// {% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}
    /// ```
    ///
    /// Each message becomes `<|im_start|>{role}\n{content}<|im_end|>\n`; with
    /// `add_generation_prompt` the prompt ends with `<|im_start|>assistant\n`.
    public static let chatMLSource =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

    /// The fallback for models without a template: ``chatMLSource`` parsed.
    public static let chatMLDefault: ChatTemplate = {
        if let t = try? ChatTemplate(chatMLSource) { return t }
        return ChatTemplate(nodes: [], source: chatMLSource)  // unreachable: the source is a tested constant
    }()

    /// The turn format of Gemma models, used instead of ChatML when a model ships no template
    /// but its vocabulary has Gemma's turn markers (`<start_of_turn>`, `<end_of_turn>`): such a
    /// model was trained on them, and ChatML's markers would be plain text to it.
    ///
    /// Gemma has no system role: system messages are joined (blank line between) and put at the
    /// start of the first user turn. The assistant's role is `model`. Each turn is
    /// `<start_of_turn>{role}\n{content}<end_of_turn>\n` after a leading `bos_token`; with
    /// `add_generation_prompt` the prompt ends with `<start_of_turn>model\n`.
    public static let gemmaTurnsSource = """
        {{- bos_token -}}
        {%- set ns = namespace(system='') -%}
        {%- for message in messages if message['role'] == 'system' -%}
        {%- set ns.system = ns.system + (message['content'] or '') + '\n\n' -%}
        {%- endfor -%}
        {%- for message in messages if message['role'] != 'system' -%}
        {%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}
        {{- '<start_of_turn>' + role + '\n' -}}
        {%- if role == 'user' and ns.system -%}{{- ns.system -}}{%- set ns.system = '' -%}{%- endif -%}
        {{- (message['content'] or '') | trim -}}
        {{- '<end_of_turn>\n' -}}
        {%- endfor -%}
        {%- if add_generation_prompt -%}{{- '<start_of_turn>model\n' -}}{%- endif -%}
        """

    /// The template for a model that ships none: ``gemmaTurnsSource`` when `hasToken` finds
    /// Gemma's turn markers in its vocabulary, else ``chatMLSource``.
    public static func defaultSource(hasToken: (String) -> Bool) -> String {
        hasToken("<start_of_turn>") && hasToken("<end_of_turn>") ? gemmaTurnsSource : chatMLSource
    }

    /// Returns the model's template, or ``chatMLDefault`` when `source` is nil or empty.
    public static func forModel(_ source: String?) throws -> ChatTemplate {
        guard let source, !source.isEmpty else { return chatMLDefault }
        return try ChatTemplate(source)
    }

    /// Renders the template. Context keys shadow the globals (`range`, `namespace`, ...).
    /// Throws ``TemplateError``: kind `.raised` for `raise_exception(...)`, other kinds for runtime
    /// errors (the position is the failing expression).
    public func render(_ context: [String: TemplateValue]) throws -> String {
        let interp = Interpreter()
        let globals = Scope(parent: nil)
        Globals.install(into: globals)
        let scope = Scope(parent: globals)
        for (k, v) in context { scope.vars[k] = Value(v) }
        var out = ""
        do {
            _ = try interp.exec(nodes, scope, &out)
        } catch let e as ValueError {
            throw TemplateError(kind: e.kind, message: e.message, line: 1, column: 1)
        }
        return out
    }
}

enum Globals {
    static func install(into scope: Scope) {
        scope.vars["raise_exception"] = .callable(Callable("raise_exception") { args, _ in
            let msg = args.positional.first.map(pyStr) ?? args.keyword("message").map(pyStr) ?? ""
            throw ValueError(.raised, msg)
        })
        scope.vars["strftime_now"] = .callable(Callable("strftime_now") { args, _ in
            guard let f = args.positional.first ?? args.keyword("format") else {
                throw ValueError(.type, "strftime_now() missing 1 required positional argument: 'format'")
            }
            guard case .string(let fmt) = f else { throw ValueError(.type, "strftime() argument 1 must be str, not \(f.typeName)") }
            return .string(strftimeNow(fmt))
        })
        scope.vars["range"] = .callable(Callable("range") { args, _ in
            let ints = try args.positional.map { v -> Int in
                guard case .int(let i) = v.asNumber ?? .none else {
                    throw ValueError(.type, "'\(v.typeName)' object cannot be interpreted as an integer")
                }
                return i
            }
            var start = 0, stop = 0, step = 1
            switch ints.count {
            case 1: stop = ints[0]
            case 2: start = ints[0]; stop = ints[1]
            case 3: start = ints[0]; stop = ints[1]; step = ints[2]
            default: throw ValueError(.type, "range expected at most 3 arguments, got \(ints.count)")
            }
            if step == 0 { throw ValueError(.value, "range() arg 3 must not be zero") }
            let count: Int
            if step > 0 {
                count = start < stop ? Int((Double(stop) - Double(start) - 1) / Double(step)) + 1 : 0
            } else {
                count = start > stop ? Int((Double(start) - Double(stop) - 1) / Double(-step)) + 1 : 0
            }
            if count > 100_000 {
                throw ValueError(.overflow, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).")
            }
            return .list(ListBox((0..<count).map { .int(start + $0 * step) }))
        })
        scope.vars["dict"] = .callable(Callable("dict") { args, _ in
            let d = DictBox()
            if let first = args.positional.first {
                switch first {
                case .dict(let src): for (k, v) in src.pairs { d.set(k, v) }
                case .list(let l):
                    for item in l.items {
                        guard case .tuple(let t) = item, t.count == 2 else {
                            if case .list(let p) = item, p.items.count == 2 { d.set(p.items[0], p.items[1]); continue }
                            throw ValueError(.type, "cannot convert dictionary update sequence element")
                        }
                        d.set(t[0], t[1])
                    }
                default: throw ValueError(.type, "'\(first.typeName)' object is not iterable")
                }
            }
            for (k, v) in args.keywords { d.set(k, v) }
            return .dict(d)
        })
        scope.vars["namespace"] = .callable(Callable("namespace") { args, _ in
            let d = DictBox()
            for p in args.positional {
                guard case .dict(let src) = p else { throw ValueError(.type, "'\(p.typeName)' object is not iterable") }
                for (k, v) in src.pairs { d.set(k, v) }
            }
            for (k, v) in args.keywords { d.set(k, v) }
            return .namespace(d)
        })
        scope.vars["cycler"] = .callable(Callable("cycler") { args, _ in
            let items = args.positional
            let state = DictBox()
            state.set("_pos", .int(0))
            let next = Callable("next") { _, _ in
                guard !items.isEmpty, case .int(let p) = state.get("_pos") ?? .int(0) else { return .none }
                state.set("_pos", .int((p + 1) % items.count))
                return items[p]
            }
            let reset = Callable("reset") { _, _ in state.set("_pos", .int(0)); return .none }
            let ns = DictBox()
            ns.set("next", .callable(next))
            ns.set("reset", .callable(reset))
            return .namespace(ns)
        })
        scope.vars["joiner"] = .callable(Callable("joiner") { args, _ in
            let sep = args.positional.first.map(pyStr) ?? ", "
            let state = DictBox()
            return .callable(Callable("joiner") { _, _ in
                if state.get("used") == nil {
                    state.set("used", .bool(true))
                    return .string("")
                }
                return .string(sep)
            })
        })
    }

    /// `datetime.now().strftime(format)` (local time, C library conversions).
    static func strftimeNow(_ format: String) -> String {
        if format.isEmpty { return "" }
        var t = time(nil)
        var tmv = tm()
        localtime_r(&t, &tmv)
        var size = 256
        while size <= 1 << 20 {
            var buf = [CChar](repeating: 0, count: size)
            let n = strftime(&buf, size, format, &tmv)
            if n > 0 { return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
            size *= 4
        }
        return ""
    }
}
