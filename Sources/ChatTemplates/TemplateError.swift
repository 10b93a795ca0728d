/// An error raised while parsing or rendering a template.
///
/// `line` and `column` are 1-based and point into the template source (the construct that failed).
/// `kind` tells apart template syntax errors, errors raised by the template itself through
/// `raise_exception(...)`, and runtime errors; ``pythonName`` gives the name of the exception
/// Python's jinja2 would raise in the same situation.
public struct TemplateError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// The template text is not valid (unknown tag, filter or test, bad expression, unclosed block).
        case syntax
        /// The template called `raise_exception(message)`.
        case raised
        /// An undefined value was used in a way that requires a value (jinja2's UndefinedError).
        case undefined
        /// An operation on values of the wrong type (Python's TypeError).
        case type
        /// A bad value (Python's ValueError), e.g. `"x" | int` never raises but `"a".split("")` does.
        case value
        /// Division or modulo by zero.
        case zeroDivision
        /// Arithmetic overflow or an oversized range/repetition.
        case overflow
        /// A disallowed operation (e.g. calling a dict method that mutates).
        case security
        /// A missing attribute on a non-template object (Python's AttributeError).
        case attribute
        /// A filter was given an argument it cannot use (jinja2's FilterArgumentError).
        case filterArgument
        /// Any other rendering error.
        case runtime
    }

    public var kind: Kind
    public var message: String
    public var line: Int
    public var column: Int

    public init(kind: Kind, message: String, line: Int, column: Int) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
    }

    /// The Python exception class jinja2 would raise (e.g. `TypeError`, `TemplateSyntaxError`).
    public var pythonName: String {
        switch kind {
        case .syntax: return "TemplateSyntaxError"
        case .raised: return "TemplateError"
        case .undefined: return "UndefinedError"
        case .type: return "TypeError"
        case .value: return "ValueError"
        case .zeroDivision: return "ZeroDivisionError"
        case .overflow: return "OverflowError"
        case .security: return "SecurityError"
        case .attribute: return "AttributeError"
        case .filterArgument: return "FilterArgumentError"
        case .runtime: return "TemplateRuntimeError"
        }
    }

    public var description: String { "\(pythonName) at line \(line), column \(column): \(message)" }
}

/// A source position (1-based line and column, counted in Unicode scalars).
struct SourcePos: Sendable, Equatable {
    var line: Int
    var column: Int
    static let zero = SourcePos(line: 0, column: 0)
}

/// An error thrown deep inside value operations before a source position is known; the
/// interpreter attaches the position of the expression being evaluated.
struct ValueError: Error {
    var kind: TemplateError.Kind
    var message: String
    init(_ kind: TemplateError.Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}
