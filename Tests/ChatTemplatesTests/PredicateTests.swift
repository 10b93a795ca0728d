import ChatTemplates
import XCTest

/// Builtin tests (`is defined`, `is divisibleby 3`, ...).
/// Expected strings were produced by Python's jinja2 3.1.6 configured as transformers does.
final class PredicateTests: XCTestCase {
    func testTypeTests() throws {
        try expectRender("{{ x is defined }}|{{ x is undefined }}|{{ n is none }}|{{ 'a' is string }}|{{ 1 is number }}|{{ 1 is integer }}|{{ 1.0 is float }}|{{ d is mapping }}|{{ d is iterable }}|{{ [] is sequence }}|{{ 'a' is iterable }}|{{ 5 is iterable }}", "False|True|True|True|True|True|True|True|True|True|True|False")
        try expectRender("{{ true is true }}|{{ false is false }}|{{ true is boolean }}|{{ 1 is boolean }}|{{ 1 is true }}|{{ true is number }}|{{ 1.0 is integer }}|{{ none is string }}|{{ 'ab' is lower }}|{{ 'AB' is upper }}|{{ range is callable }}", "True|True|True|False|False|True|False|False|True|True|True")
    }

    func testValueTests() throws {
        try expectRender("{{ 1 is eq 1 }}|{{ 'u' is equalto 'u' }}|{{ 1 is ne 2 }}|{{ 1 is in [1] }}|{{ 3 is odd }}|{{ 4 is even }}|{{ 9 is divisibleby 3 }}|{{ 1 is not none }}|{{ 2 is gt 1 }}|{{ 2 is lessthan 1 }}|{{ 2 is ge(2) }}", "True|True|True|True|True|True|True|True|True|False|True")
        try expectRender("{{ messages|selectattr('content', 'string')|list|length }}|{{ [1, 'a', none]|reject('none')|list }}", "5|[1, 'a']")
        expectError("{{ 'a' is odd }}", "TypeError", "not all arguments converted during string formatting")
    }
}
