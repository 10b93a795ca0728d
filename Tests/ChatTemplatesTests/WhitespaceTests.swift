import ChatTemplates
import XCTest

/// Whitespace control: trim_blocks, lstrip_blocks, `-`/`+` markers, newline normalisation.
/// Expected strings were produced by Python's jinja2 3.1.6 configured as transformers does.
final class WhitespaceTests: XCTestCase {
    func testTrimAndLstripBlocks() throws {
        try expectRender("  {% if true %}\nx\n  {% endif %}\ny", "x\ny")
        try expectRender("a  {% if true %}b{% endif %}", "a  b")
        try expectRender("{{ 1 }}   {% if true %}b{% endif %}", "1   b")
        try expectRender("{% for i in [1,2] %}\n  {{ i }}\n{% endfor %}\n", "  1\n  2\n")
        try expectRender("a\n{%+ if true %}b{% endif +%}\nc", "a\nb\nc")
        try expectRender("{% if true %} \nx{% endif %}", " \nx")
        try expectRender("{#- c #}\n  {% if true %}x{% endif %}", "x")
        try expectRender("{{ 1 }}\n  {% if true %}x{% endif %}", "1\nx")
        try expectRender("x\n  {% raw %}  a\n  {% endraw %}", "x\n  a\n")
        try expectRender("a\n \u{c} {% if true %}x{% endif %}", "a\nx")
        try expectRender("a\n 　{% if true %}x{% endif %}", "a\nx")
        try expectRender("line\r\n{% if true %}\r\nx\r\n{% endif %}\r\n", "line\nx\n")
        try expectRender("trailing newline is dropped\n", "trailing newline is dropped")
    }

    func testDashMarkers() throws {
        try expectRender("{{- 1 -}}\n \n {{ 2 }}", "12")
        try expectRender("a   {#- c -#}   b", "ab")
        try expectRender("{{ 1 }}{%- if true -%}   x  {%- endif -%}  y", "1xy")
        try expectRender("{% if true -%}\n\n  {%+ if true %}a{% endif %}{% endif %}", "a")
        try expectRender("{{- 1 }}|{{ -1 }}|{{ 5 -}} |{{ 5-3 }}", "1|-1|5|2")
        try expectRender("a 　\n{%- if true %}x{% endif %}", "ax")
        try expectRender("a{{ 1 -}} 　\n\n  b", "a1b")
    }

    func testChatTemplateShapes() throws {
        try expectRender("{%- for message in messages %}\n    {%- if message.role == 'user' %}\n        {{- '<|user|>\\n' + message.content | trim + eos_token }}\n    {%- elif message.role == 'assistant' %}\n        {{- '<|assistant|>\\n'  + message.content + eos_token }}\n    {%- endif %}\n    {%- if loop.last and add_generation_prompt %}\n        {{- '<|assistant|>' }}\n    {%- endif %}\n{%- endfor %}", "<|user|>\nHello</s><|assistant|>\nHi there</s><|user|>\nbye</s><|assistant|>")
        try expectRender("{{ bos_token }}\n{% for message in messages %}\n    {% if message['role'] == 'user' %}\n        {{ '[INST] ' + message['content'] + ' [/INST]' }}\n    {% elif message['role'] == 'assistant' %}\n        {{ message['content'] + eos_token }}\n    {% endif %}\n{% endfor %}\n", "<s>\n        [INST] Hello [/INST]\n        Hi there</s>\n        [INST]   bye \n [/INST]\n")
    }
}
