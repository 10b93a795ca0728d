import ChatTemplates
import XCTest

/// Expressions: literals, access, slices, operators, methods, globals and undefined values.
/// Expected strings were produced by Python's jinja2 3.1.6 configured as transformers does.
final class ExpressionTests: XCTestCase {
    func testLiterals() throws {
        try expectRender("{{ 'a\\tb\\n' }}|{{ \"it's\" }}|{{ 'say \"hi\"' }}|{{ '\\u00e9\\x41\\101' }}|{{ 'unknown \\q escape' }}|{{ 'a' 'b' }}", "a\tb\n|it's|say \"hi\"|éAA|unknown \\q escape|ab")
        try expectRender("{{ 1 }}|{{ 1.0 }}|{{ 1.5e3 }}|{{ 1_000 }}|{{ 0.1 + 0.2 }}|{{ 1e20 }}|{{ 1e-5 }}|{{ 1e16 }}|{{ 1e15 }}|{{ 123456789012345.6 }}|{{ -0.0 }}", "1|1.0|1500.0|1000|0.30000000000000004|1e+20|1e-05|1e+16|1000000000000000.0|123456789012345.6|-0.0")
        try expectRender("{{ true }}|{{ True }}|{{ false }}|{{ False }}|{{ none }}|{{ None }}", "True|True|False|False|None|None")
        try expectRender("{{ [1, 'a', none, true, 1.5] }}|{{ (1, 2) }}|{{ (1,) }}|{{ () }}|{{ {'a': 1, 'b': none, 'c': [{}]} }}|{{ [\"it's\", 'q\"', '\\n'] }}", "[1, 'a', None, True, 1.5]|(1, 2)|(1,)|()|{'a': 1, 'b': None, 'c': [{}]}|[\"it's\", 'q\"', '\\n']")
    }

    func testAttributeSubscriptSlice() throws {
        try expectRender("{{ messages[0].role }}|{{ messages[0]['role'] }}|{{ messages[-1].content }}|{{ d.a }}|{{ d['b'][1] }}|{{ d.b.0 }}|{{ d.missing }}|{{ d['missing'] }}|{{ l[10] }}", "system|system|  bye \n|1|2|1|||")
        try expectRender("{{ messages[::-1]|map(attribute='role')|join(',') }}|{{ messages[1:]|length }}|{{ 'hello'[1:3] }}|{{ 'hello'[::-1] }}|{{ [1,2,3,4,5][1:4:2] }}|{{ [1,2,3][-2:] }}|{{ 'abc'[-1] }}|{{ [1,2,3][:-1] }}|{{ [1,2,3][5:] }}|{{ [1,2,3][::-2] }}", "user,tool,assistant,user,system|4|el|olleh|[2, 4]|[2, 3]|c|[1, 2]|[]|[3, 1]")
        try expectRender("{{ n.x }}|{{ n[0] }}|{{ (1, 2)[0] }}|{{ {'a': {'b': 'c'}}.a.b }}", "||1|c")
        expectError("{{ d.missing.y }}", "UndefinedError", "'dict object' has no attribute 'missing'")
        expectError("{{ undefined_name.attr }}", "UndefinedError", "'undefined_name' is undefined")
    }

    func testOperators() throws {
        try expectRender("{{ 1 in [1,2] }}|{{ 3 not in [1,2] }}|{{ not true }}|{{ true and false }}|{{ true or false }}|{{ 0 or 'x' }}|{{ '' and 1 }}|{{ 1 < 2 < 3 }}|{{ 1 == 1.0 }}|{{ 'x' in 'xyz' }}|{{ 'a' in {'a':1} }}", "True|True|False|False|True|x||True|True|True|True")
        try expectRender("{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % 3 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}|{{ 7 / 2 }}|{{ 6 / 2 }}|{{ -3 }}|{{ 2 * 3 + 1 }}|{{ 2 ** 3 ** 2 }}|{{ 1.5 + 1 }}|{{ true + 1 }}|{{ 2**-1 }}|{{ -2 ** 2 }}", "3|-4|1|2|1024|3.5|3.0|-3|7|64|2.5|2|0.5|4")
        try expectRender("{{ 'ab' * 3 }}|{{ [1] + [2] }}|{{ (1,) + (2,) }}|{{ 'a' ~ 1 ~ none ~ undefined_name }}|{{ 'a' + 'b' }}|{{ [0] * 3 }}", "ababab|[1, 2]|(1, 2)|a1None|ab|[0, 0, 0]")
        try expectRender("{{ 'a' if false }}|{{ 'a' if false else 'b' }}|{{ 'a' if true else 'b' if false else 'c' }}|{{ 1 if none is none }}", "|b|a|1")
        try expectRender("{{ '%s and %s' % ('a', 'b') }}|{{ '%d%%' % 5 }}|{{ '%5.2f|%-4d|%x' % (3.14159, 7, 255) }}|{{ '%(a)s' % {'a': 1} }}", "a and b|5%| 3.14|7   |ff|1")
        try expectRender("{{ -f|abs }}|{{ (1 + 2) * 3 }}|{{ 10 - 2 - 3 }}", "2.5|9|5")
        expectError("{{ 'a' + none }}", "TypeError", "can only concatenate str (not \"NoneType\") to str")
        expectError("{{ 1 + 'a' }}", "TypeError", "unsupported operand type(s) for +: 'int' and 'str'")
        expectError("{{ [1] + 'a' }}", "TypeError", "can only concatenate list (not \"str\") to list")
        expectError("{{ 1 / 0 }}", "ZeroDivisionError", "division by zero")
        expectError("{{ 1 // 0 }}", "ZeroDivisionError", "integer division or modulo by zero")
        expectError("{{ 'a' < 1 }}", "TypeError", "'<' not supported between instances of 'str' and 'int'")
        expectError("{{ undefined_name + 1 }}", "UndefinedError", "'undefined_name' is undefined")
        expectError("{{ 'x' % 1 }}", "TypeError", "not all arguments converted during string formatting")
    }

    func testMethodsOnStrings() throws {
        try expectRender("{{ '  a b  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  a'.lstrip() }}|{{ 'a  '.rstrip() }}|{{ '\\n\\nx\\n'.lstrip('\\n') }}", "a b|hi|a|a|x\n")
        try expectRender("{{ 'a,b,c'.split(',') }}|{{ ' a b  c '.split() }}|{{ 'a,b,c'.split(',', 1) }}|{{ 'a b c'.rsplit(' ', 1) }}|{{ 'a<b>c'.split('<b>')[-1] }}|{{ 'x'.split(maxsplit=1) }}", "['a', 'b', 'c']|['a', 'b', 'c']|['a', 'b,c']|['a b', 'c']|c|['x']")
        try expectRender("{{ 'hello'.startswith('he') }}|{{ 'hello'.endswith(('lo','x')) }}|{{ 'Hello'.upper() }}|{{ 'Hello'.lower() }}|{{ 'a-b'.replace('-', '+') }}|{{ \"hello wORLD-foo it's x1y\".title() }}|{{ 'hELLO'.capitalize() }}", "True|True|HELLO|hello|a+b|Hello World-Foo It'S X1Y|Hello")
        try expectRender("{{ '{} and {}'.format(1, 'b') }}|{{ '{0}{0}{x}'.format('a', x=1) }}|{{ 'abc'.find('c') }}|{{ 'abcabc'.count('b') }}|{{ ', '.join(['a', 'b']) }}|{{ '12'.isdigit() }}|{{ 'a\\nb'.splitlines() }}", "1 and b|aa1|2|2|a, b|True|['a', 'b']")
        expectError("{{ 'a'.foo() }}", "UndefinedError", "'str object' has no attribute 'foo'")
    }

    func testMethodsOnDictsAndLists() throws {
        try expectRender("{{ d.get('a') }}|{{ d.get('z') }}|{{ d.get('z', 5) }}|{{ d.keys()|list }}|{{ d.values()|list }}|{{ d.items()|list }}|{{ d.items()|length }}", "1|None|5|['a', 'b']|[1, [1, 2]]|[('a', 1), ('b', [1, 2])]|2")
        try expectRender("{% for k, v in messages[2].tool_calls[0].function.arguments.items() %}{{ k }}={{ v }};{% endfor %}", "x=1;y=é;")
        try expectRender("{{ [1, 2, 1].count(1) }}|{{ [1, 2].index(2) }}|{{ (1, 'x').index('x') }}", "2|1|1")
        try expectRender("{% set a = [1,2] %}{% set b = a %}{{ b is sameas a }}", "True")
    }

    func testGlobals() throws {
        try expectRender("{{ range(3)|list }}|{{ range(1, 4)|list }}|{{ range(10, 0, -3)|list }}|{{ dict(a=1, b='x') }}|{{ namespace(a=1).a }}", "[0, 1, 2]|[1, 2, 3]|[10, 7, 4, 1]|{'a': 1, 'b': 'x'}|1")
        expectError("{{ raise_exception('bad thing') }}", "TemplateError", "bad thing")
        expectError("{% if messages[0].role != 'user' %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}", "TemplateError", "Conversation roles must alternate user/assistant/user/assistant/...")
        try expectRender("{{ strftime_now('%Y') | length }}", "4")
        try expectRender("{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}|{% set j = joiner('-') %}{% for x in [1,2,3] %}{{ j() }}{{ x }}{% endfor %}", "aba|1-2-3")
    }

    func testUndefined() throws {
        try expectRender("[{{ foo }}]|{{ foo is defined }}|{{ foo is undefined }}|{{ foo|default('d') }}|{{ foo|length }}|{{ foo|list }}|{{ not foo }}|{{ foo or 5 }}|{{ foo == foo }}|{{ foo in [1] }}", "[]|False|True|d|0|[]|True|5|True|False")
        try expectRender("{{ foo|trim }}|{{ foo|upper }}|{{ foo|join }}|{{ foo|string }}|{{ foo|items|list }}|{{ foo|first }}|{{ foo|last }}|{{ foo|sort }}|{{ foo|unique|list }}|{{ foo|count }}|{{ foo|wordcount }}|{{ foo|selectattr('a')|list }}", "||||[]|||[]|[]|0|0|[]")
        expectError("{{ foo.bar }}", "UndefinedError", "'foo' is undefined")
        expectError("{{ foo[0] }}", "UndefinedError", "'foo' is undefined")
        expectError("{{ foo() }}", "UndefinedError", "'foo' is undefined")
        expectError("{{ foo < 1 }}", "UndefinedError", "'foo' is undefined")
        expectError("{{ -foo }}", "UndefinedError", "'foo' is undefined")
        expectError("{{ foo|tojson }}", "TypeError", "Object of type Undefined is not JSON serializable")
        expectError("{{ foo|int }}", "UndefinedError", "'foo' is undefined")
        expectError("{{ foo|indent }}", "UndefinedError", "'foo' is undefined")
        expectError("{{ foo|abs }}", "TypeError", "bad operand type for abs(): 'Undefined'")
        expectError("{{ messages[0].missing is defined }}|{{ messages[0].missing.deeper is defined }}", "UndefinedError", "'dict object' has no attribute 'missing'")
    }
}
