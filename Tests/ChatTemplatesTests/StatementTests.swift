import ChatTemplates
import XCTest

/// Statements: if, for (loop.*, else, filters, unpacking, break/continue, recursion), set, namespace, macro, call, filter, raw, with.
/// Expected strings were produced by Python's jinja2 3.1.6 configured as transformers does.
final class StatementTests: XCTestCase {
    func testIfElifElse() throws {
        try expectRender("{% if 1 %}a{% elif 2 %}b{% else %}c{% endif %}{% if 0 %}a{% elif 2 %}b{% else %}c{% endif %}{% if 0 %}a{% elif 0 %}b{% else %}c{% endif %}", "abc")
        try expectRender("{% if messages %}yes{% endif %}{% if [] %}no{% endif %}{% if n %}no{% else %}none{% endif %}", "yesnone")
        try expectRender("{% if true %}{% set z = 5 %}{% endif %}{{ z }}", "5")
    }

    func testForLoopVariables() throws {
        try expectRender("{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }}/{{ loop.cycle('a','b') }}/{{ loop.depth }};{% endfor %}", "1/0/5/4/True/False/5/a/1;2/1/4/3/False/False/5/b/1;3/2/3/2/False/False/5/a/1;4/3/2/1/False/False/5/b/1;5/4/1/0/False/True/5/a/1;")
        try expectRender("{% for i in range(3) %}{{ loop.previtem }}-{{ loop.nextitem }};{% endfor %}", "-1;0-2;1-;")
        try expectRender("{% for x in [1,1,2,2,1] %}{% if loop.changed(x) %}{{ x }}{% endif %}{% endfor %}", "121")
        try expectRender("{% for a in [[1,2],[3]] %}{% for b in a %}{{ loop.index }}{{ loop.length }}{% endfor %}|{{ loop.index }}{% endfor %}", "1222|111|2")
        try expectRender("{% for a in [1,2,3] %}{% set outer = loop %}{% for b in [1] %}{{ outer.index }}{% endfor %}{% endfor %}", "123")
    }

    func testForElseFilterUnpacking() throws {
        try expectRender("{% for x in [] %}a{% else %}none{% endfor %}|{% for x in [1,2,3,4] if x is even %}{{ x }}{{ loop.length }}{% else %}none{% endfor %}", "none|2242")
        try expectRender("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for a, b in [(1,2),[3,4]] %}{{ a+b }}{% endfor %}", "a=1;b=[1, 2];37")
        try expectRender("{% for c in 'abc' %}{{ c }},{% endfor %}{% for k in {'a':1,'b':2} %}{{ k }}{% endfor %}", "a,b,c,ab")
        try expectRender("{% for x in undefined_name %}a{% else %}empty{% endfor %}", "empty")
        expectError("{% for a, b in [[1,2,3]] %}{{ a }}{% endfor %}", "ValueError", "too many values to unpack (expected 2)")
        expectError("{% for x in none %}{{ x }}{% endfor %}", "TypeError", "'NoneType' object is not iterable")
    }

    func testBreakContinue() throws {
        try expectRender("{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}", "0134")
        try expectRender("{% for m in messages %}{% if m.role == 'system' %}{% continue %}{% endif %}{{ m.role }}{% if loop.index > 3 %}{% break %}{% endif %}{% endfor %}", "userassistanttool")
    }

    func testLoopScoping() throws {
        try expectRender("{% for i in [1,2] %}{% if i == 2 %}{{ y }}{% endif %}{% set y = i %}{% endfor %}[{{ y }}]", "[]")
        try expectRender("{% set y = 0 %}{% for i in [1,2] %}{{ y }}{% set y = i %}{{ y }}{% endfor %}[{{ y }}]", "0102[0]")
        try expectRender("{% set x = 1 %}{% set x = x + 1 %}{{ x }}", "2")
    }

    func testRecursiveLoop() throws {
        try expectRender("{% for item in [{'n':1,'c':[{'n':2,'c':[{'n':3,'c':[]}]}]}] recursive %}{{ item.n }}({{ loop.depth }}){% if item.c %}[{{ loop(item.c) }}]{% endif %}{% endfor %}", "1(1)[2(2)[3(3)]]")
    }

    func testSetAndNamespace() throws {
        try expectRender("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = 1, 2 %}{{ c }}", "12(1, 2)")
        try expectRender("{% set x %}  block {{ 1 + 1 }}  {% endset %}[{{ x }}]{% set y | upper | trim %}  hi  {% endset %}[{{ y }}]", "[  block 2  ][HI]")
        try expectRender("{% set ns = namespace(found=false, n=0) %}{% for m in messages %}{% if m.role == 'user' %}{% set ns.found = true %}{% set ns.n = ns.n + 1 %}{% endif %}{% endfor %}{{ ns.found }} {{ ns.n }}", "True 2")
        try expectRender("{% set ns = namespace(items=[]) %}{% for i in range(3) %}{% set ns.items = ns.items + [i] %}{% endfor %}{{ ns.items }}", "[0, 1, 2]")
        try expectRender("{% set ns = namespace() %}{% set ns.a = 1 %}{{ ns.a }}{{ ns.b }}", "1")
        try expectRender("{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}", "12")
        expectError("{% set d2 = {} %}{% set d2.a = 1 %}", "TemplateRuntimeError", "cannot assign attribute on non-namespace object")
        try expectRender("{% for i in [1,2] %}{% set x %}{{ i }}{{ loop.index }}{% endset %}{{ x }}{% endfor %}", "1122")
    }

    func testMacros() throws {
        try expectRender("{% macro greet(name, greeting='Hello', punct='!') %}{{ greeting }}, {{ name }}{{ punct }}{% endmacro %}{{ greet('Bob') }} {{ greet('Al', punct='?') }} {{ greet('X', 'Hi') }}", "Hello, Bob! Hello, Al? Hi, X!")
        try expectRender("{% macro m(a, b=a+1) %}{{ a }}-{{ b }}{% endmacro %}{{ m(1) }} {{ m(1, 5) }} {{ m(b=2, a=3) }}", "1-2 1-5 3-2")
        try expectRender("{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, x=4) }}", "1(2, 3){'x': 4}")
        try expectRender("{% macro m(a) %}[{{ a }}]{% endmacro %}{{ m() }}", "[]")
        try expectRender("{% macro rec(n) %}{% if n > 0 %}{{ n }}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(5) }}", "54321")
        try expectRender("{% set x = 'outer' %}{% macro m() %}{{ x }}{% endmacro %}{% for x in ['loop'] %}{{ m() }}{% endfor %}{% set x = 'later' %}{{ m() }}", "outerlater")
        try expectRender("{% macro f(x) -%}\n  [{{ x }}]\n{%- endmacro %}\n{{ f(1) }}\n{{- f(2) }}", "[1][2]")
        expectError("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}", "TypeError", "macro 'm' takes not more than 1 argument(s)")
        expectError("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, x=2) }}", "TypeError", "macro 'm' takes no keyword argument 'x'")
    }

    func testCallBlocks() throws {
        try expectRender("{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ 1 }}{% endcall %}", "<b>bold 1</b>")
        try expectRender("{% macro list_it(items) %}{% for i in items %}{{ caller(i, loop.index) }}{% endfor %}{% endmacro %}{% call(x, n) list_it(['a','b']) %}{{ n }}={{ x }};{% endcall %}", "1=a;2=b;")
        try expectRender("{% macro m() %}{{ caller() if caller is defined else 'nocaller' }}{% endmacro %}{{ m() }}|{% call m() %}C{% endcall %}", "nocaller|C")
    }

    func testFilterBlocksWithRawComments() throws {
        try expectRender("{% filter upper %}hello {{ 'world' }}{% endfilter %}", "HELLO WORLD")
        try expectRender("{% filter replace('a', 'b') %}aaa{% endfilter %}|{% filter trim|upper %}  x  {% endfilter %}", "bbb|X")
        try expectRender("{# comment #}a{#- trimmed -#}   b {# multi\nline #}\nc", "ab c")
        try expectRender("{% raw %}{{ not rendered }}{% if %}{% endraw %}", "{{ not rendered }}{% if %}")
        try expectRender("{% raw %}\n  {{ x }}\n  {% endraw %}\nq", "\n  {{ x }}\nq")
        try expectRender("{% raw -%}\n  {{ x }}\n  {%- endraw %}\nq", "{{ x }}q")
        try expectRender("{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]", "3[]")
        try expectRender("{% generation %}kept{% endgeneration %}", "kept")
    }
}
