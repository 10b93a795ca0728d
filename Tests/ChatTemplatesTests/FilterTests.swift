import ChatTemplates
import XCTest

/// Builtin filters and Hugging Face's tojson.
/// Expected strings were produced by Python's jinja2 3.1.6 configured as transformers does.
final class FilterTests: XCTestCase {
    func testStringFilters() throws {
        try expectRender("{{ '  x  '|trim }}|{{ 'xxaxx'|trim('x') }}|{{ 'a b'|replace(' ', '_') }}|{{ 'aaa'|replace('a','b',2) }}|{{ 'abc'|upper }}|{{ 'ABC'|lower }}|{{ 'hELLO wORLD'|capitalize }}", "x|a|a_b|bba|ABC|abc|Hello world")
        try expectRender("{{ \"hello wORLD-foo bar(baz) it's\"|title }}|{{ 'Hello, world! foo_bar 12'|wordcount }}|{{ 'abc'|center(7) }}|{{ 'x'|safe }}|{{ '<a href=\"x\">&</a>'|e }}|{{ 'abc'|reverse }}|{{ 42|string }}", "Hello World-Foo Bar(Baz) It's|4|  abc  |x|&lt;a href=&#34;x&#34;&gt;&amp;&lt;/a&gt;|cba|42")
        try expectRender("{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb\\n\\nc'|indent(2, true) }}|{{ 'a\\nb\\n\\nc\\n'|indent(2, true, true) }}|{{ 'x'|indent(first=true) }}|{{ 'a\\n'|indent('--') }}", "a\n    b\n\n    c|  a\n  b\n\n  c|  a\n  b\n  \n  c\n  |    x|a\n")
        try expectRender("{{ '%s-%d'|format('a', 3) }}|{{ 'abc'|length }}|{{ 'é🙂'|count }}", "a-3|3|2")
        try expectRender("{{ 'ß'|upper }}|{{ 'straße'.title() }}|{{ 'ǆa'|capitalize }}|{{ 'नमस्ते दुनिया'|wordcount }}|{{ 'नमस्ते'.isalpha() }}|{{ 'ǅ'|lower }}", "SS|Straße|ǅa|5|False|ǆ")
        try expectRender("{{ '%.3f'|format(2.0005) }}|{{ '%10s|'|format('x') }}|{{ '%-10s|'|format('x') }}|{{ '%05d'|format(-42) }}|{{ '%+d'|format(3) }}|{{ '%e'|format(12345.678) }}|{{ '%g'|format(0.00001234) }}|{{ '%r'|format('x') }}|{{ '%c'|format(65) }}", "2.001|         x||x         ||-0042|+3|1.234568e+04|1.234e-05|'x'|A")
    }

    func testToJSON() throws {
        try expectRender("{{ tools|tojson }}", "[{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"does f\", \"parameters\": {\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"integer\"}}, \"required\": [\"x\"]}}}]")
        try expectRender("{{ tools|tojson(indent=2) }}", "[\n  {\n    \"type\": \"function\",\n    \"function\": {\n      \"name\": \"f\",\n      \"description\": \"does f\",\n      \"parameters\": {\n        \"type\": \"object\",\n        \"properties\": {\n          \"x\": {\n            \"type\": \"integer\"\n          }\n        },\n        \"required\": [\n          \"x\"\n        ]\n      }\n    }\n  }\n]")
        try expectRender("{{ tools|tojson(indent=4) }}", "[\n    {\n        \"type\": \"function\",\n        \"function\": {\n            \"name\": \"f\",\n            \"description\": \"does f\",\n            \"parameters\": {\n                \"type\": \"object\",\n                \"properties\": {\n                    \"x\": {\n                        \"type\": \"integer\"\n                    }\n                },\n                \"required\": [\n                    \"x\"\n                ]\n            }\n        }\n    }\n]")
        try expectRender("{{ {'a': [1, 2.0, 'é\\n\\u2028\\t\"\\\\', none, true, 1e20]}|tojson }}|{{ {'a': [1, {'b': []}, {}]}|tojson(indent=2) }}", "{\"a\": [1, 2.0, \"é\\n\u{2028}\\t\\\"\\\\\", null, true, 1e+20]}|{\n  \"a\": [\n    1,\n    {\n      \"b\": []\n    },\n    {}\n  ]\n}")
        try expectRender("{{ {'b':1,'a':2}|tojson(sort_keys=true) }}|{{ messages[2].tool_calls[0].function|tojson(separators=(',', ':')) }}|{{ 'é'|tojson(true) }}|{{ [1,2]|tojson(2) }}", "{\"a\": 2, \"b\": 1}|{\"name\":\"f\",\"arguments\":{\"x\":1,\"y\":\"é\"}}|\"\\u00e9\"|[1, 2]")
        try expectRender("{{ 'x'|tojson }}|{{ 1|tojson }}|{{ none|tojson }}|{{ (1, 'a')|tojson }}|{{ {1: 'a', true: 'b', none: 'c'}|tojson }}", "\"x\"|1|null|[1, \"a\"]|{\"1\": \"b\", \"null\": \"c\"}")
        expectError("{{ foo|tojson }}", "TypeError", "Object of type Undefined is not JSON serializable")
    }

    func testSequenceFilters() throws {
        try expectRender("{{ [1,2,3]|join }}|{{ [1,2,3]|join(', ') }}|{{ [{'n':'a'},{'n':'b'}]|join(',', attribute='n') }}|{{ 'abc'|list }}|{{ {'a':1}|list }}|{{ [1,2]|reverse|list }}|{{ [1,2,3]|first }}|{{ [1,2,3]|last }}|{{ []|first }}|{{ 'abc'|first }}", "123|1, 2, 3|a,b|['a', 'b', 'c']|['a']|[2, 1]|1|3||a")
        try expectRender("{{ ['b','A','a','B']|unique|list }}|{{ ['b','A','a','B']|sort }}|{{ ['b','A','a','B']|sort(case_sensitive=true) }}|{{ [3,1,2]|sort(reverse=true) }}|{{ [{'n':'b'},{'n':'a'}]|sort(attribute='n') }}", "['b', 'A']|['A', 'a', 'b', 'B']|['A', 'B', 'a', 'b']|[3, 2, 1]|[{'n': 'a'}, {'n': 'b'}]")
        try expectRender("{{ [1,2,3]|sum }}|{{ [3,1,2]|max }}|{{ [3,1,2]|min }}|{{ ['b','A']|max }}|{{ [{'a':2},{'a':5}]|sum(attribute='a') }}|{{ [1,2,3,4,5]|batch(2)|list }}|{{ [1,2,3,4,5]|batch(2, 'x')|list }}", "6|3|1|b|7|[[1, 2], [3, 4], [5]]|[[1, 2], [3, 4], [5, 'x']]")
        expectError("{{ messages|length }}|{{ d|length }}|{{ [1, 2]|count }}|{{ 5|length }}", "TypeError", "object of type 'int' has no len()")
        try expectRender("{{ {'b':1,'A':2,'a':3}|dictsort }}|{{ {'b':1,'a':3}|dictsort(by='value', reverse=true) }}|{{ {'b':1,'a':3}|items|list }}", "[('A', 2), ('a', 3), ('b', 1)]|[('a', 3), ('b', 1)]|[('b', 1), ('a', 3)]")
        try expectRender("{% if []|select %}generators are truthy{% endif %}|{% set g = [1,2,3]|select %}{{ g|first }}{{ g|list }}{{ g|list }}", "generators are truthy|1[2, 3][]")
        expectError("{{ []|select|length }}", "TypeError", "object of type 'generator' has no len()")
        expectError("{{ [3,'a']|sort }}", "TypeError", "'<' not supported between instances of 'str' and 'int'")
    }

    func testSelectRejectMap() throws {
        try expectRender("{{ messages|selectattr('role', 'equalto', 'user')|list|length }}|{{ messages|rejectattr('tool_calls')|map(attribute='role')|list }}|{{ messages|selectattr('tool_calls', 'defined')|list|length }}", "2|['system', 'user', 'tool', 'user']|1")
        try expectRender("{{ [{'r':'u','c':1},{'r':'a'},{'r':'u','c':3}]|selectattr('r','equalto','u')|map(attribute='c')|list }}|{{ [{'r':'u','c':1},{'r':'a'}]|rejectattr('c')|list }}|{{ [{'r':'u','c':1},{'r':'a'}]|map(attribute='c', default=0)|list }}", "[1, 3]|[{'r': 'a'}]|[1, 0]")
        try expectRender("{{ [1,2,3,4]|select('odd')|list }}|{{ [1,2,3,4]|reject('divisibleby', 2)|list }}|{{ [0,1,2]|select|list }}|{{ [{'a':{'b':1}}]|map(attribute='a.b')|list }}|{{ ['a','b']|map('upper')|list }}|{{ ['a','b']|map('replace','a','z')|list }}", "[1, 3]|[1, 3]|[1, 2]|[1]|['A', 'B']|['z', 'b']")
        try expectRender("{{ messages|map(attribute='role')|unique|join(',') }}|{{ messages|map(attribute='content')|select('string')|map('length')|sum }}", "system,user,assistant,tool|25")
    }

    func testNumberAndConversionFilters() throws {
        try expectRender("{{ '42'|int }}|{{ '4.7'|int }}|{{ 'x'|int }}|{{ 'x'|int(5) }}|{{ 4.7|int }}|{{ '0x1A'|int(0, 16) }}|{{ '1A'|int(base=16) }}|{{ true|int }}|{{ ' 12 '|int }}|{{ '1_000'|int }}", "42|4|0|5|4|26|26|1|12|1000")
        try expectRender("{{ '3'|float }}|{{ 'a'|float }}|{{ 3|float }}|{{ -3|abs }}|{{ -3.5|abs }}|{{ 2.5|round }}|{{ 3.14159|round(2) }}|{{ 2.5|round(0,'ceil') }}|{{ 2.4|round(0,'floor') }}|{{ -2.5|round }}|{{ 7|round(1) }}|{{ 3|round }}", "3.0|0.0|3.0|3|3.5|2.0|3.14|3.0|2.0|-2.0|7|3")
        try expectRender("{{ 1.5|round(1) }}|{{ 2.675|round(2) }}|{{ 0.125|round(2) }}|{{ 1234.5678|round(-2) }}|{{ 5|round(-1) }}|{{ 15|round(-1) }}|{{ -25|round(-1) }}|{{ 250|round(-2) }}", "1.5|2.67|0.12|1200.0|0|20|-20|200")
        try expectRender("{{ 5e-324 }}|{{ 1.7976931348623157e308 }}|{{ 0.000123 }}|{{ 123456789012345678.0 }}|{{ 1/3 }}|{{ 100.0 }}|{{ 1e100 }}|{{ {'a': 1.0, 'b': -0.0, 'c': 1e-7}|tojson }}", "5e-324|1.7976931348623157e+308|0.000123|1.2345678901234568e+17|0.3333333333333333|100.0|1e+100|{\"a\": 1.0, \"b\": -0.0, \"c\": 1e-07}")
        try expectRender("{{ none|default('e') }}|{{ ''|default('e') }}|{{ ''|default('e', true) }}|{{ none|d('e', boolean=true) }}|{{ 0|d(5, true) }}", "None||e|e|5")
    }
}
