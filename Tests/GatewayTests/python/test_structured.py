"""Structured output through the openai SDK: every schema of schemas/*.json, sampled by
qwen2.5-coder:0.5b at temperature 1.0, comes back as JSON that validates (jsonschema, formats
checked); json_object gives an object; unsupported keywords and bad grammars are 400s naming them."""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import openai
import pytest

QWEN = "qwen2.5-coder:0.5b"
SCHEMAS = sorted((Path(__file__).parent / "schemas").glob("*.json"))
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def test_the_format_checker_checks_every_format_the_corpus_uses():
    # Without rfc3339-validator, jsonschema silently skips date-time and time.
    assert {"date", "time", "date-time", "uuid", "email"} <= set(FORMATS.checkers)
    assert not FORMATS.conforms("2024-13-01T00:00:00Z", "date-time")
    assert not FORMATS.conforms("25:00:00Z", "time")


def ask(client, name: str, schema: dict):
    return client.chat.completions.create(
        model=QWEN,
        messages=[
            {"role": "system", "content": "You reply with JSON only."},
            {"role": "user", "content": schema.get("description", "Reply with JSON.")},
        ],
        response_format={"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}},
        temperature=1.0,
        max_tokens=400,
    )


def test_corpus_outputs_parse_and_validate(client):
    assert len(SCHEMAS) >= 50
    schemas = {p.stem: json.loads(p.read_text()) for p in SCHEMAS}
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(schemas, pool.map(lambda kv: ask(client, *kv), schemas.items())))
    failures = []
    for name, r in results.items():
        text = r.choices[0].message.content
        if r.choices[0].finish_reason != "stop":
            failures.append(f"{name}: finish_reason {r.choices[0].finish_reason}: {text!r}")
            continue
        try:
            value = json.loads(text)
            jsonschema.validate(value, schemas[name], cls=jsonschema.Draft202012Validator, format_checker=FORMATS)
        except (json.JSONDecodeError, jsonschema.ValidationError) as e:
            failures.append(f"{name}: {type(e).__name__}: {str(e).splitlines()[0]} in {text!r}")
    assert not failures, "\n".join(failures)


def test_json_object(client):
    r = client.chat.completions.create(
        model=QWEN,
        messages=[{"role": "user", "content": "Describe a cat as JSON."}],
        response_format={"type": "json_object"},
        temperature=1.0,
        max_tokens=300,
    )
    assert r.choices[0].finish_reason == "stop"
    assert isinstance(json.loads(r.choices[0].message.content), dict)


def test_json_schema_streamed_is_the_same_kind_of_output(client):
    schema = json.loads((Path(__file__).parent / "schemas" / "object_person.json").read_text())
    stream = client.chat.completions.create(
        model=QWEN,
        messages=[{"role": "user", "content": "A person, as JSON."}],
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}},
        temperature=1.0, max_tokens=200, stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    jsonschema.validate(json.loads(text), schema, format_checker=FORMATS)


def test_grammar_extension_field(client):
    r = client.chat.completions.create(
        model=QWEN,
        messages=[{"role": "user", "content": "Is water wet?"}],
        extra_body={"grammar": 'root ::= ("yes" | "no") ", because " [a-z ]{1,40} "."'},
        temperature=1.0,
        max_tokens=100,
    )
    text = r.choices[0].message.content
    assert text.startswith(("yes, because ", "no, because ")) and text.endswith("."), text


@pytest.mark.parametrize(
    "schema, keyword",
    [
        ({"type": "object", "not": {"required": ["a"]}}, "not"),
        ({"type": "object", "patternProperties": {"^x": {"type": "string"}}}, "patternProperties"),
        ({"type": "object", "properties": {"a": {"if": {"type": "string"}, "then": {"minLength": 2}}}}, "if"),
    ],
)
def test_unsupported_keyword_is_a_400_naming_it(client, schema, keyword):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model=QWEN, messages=[{"role": "user", "content": "x"}], max_tokens=5,
            response_format={"type": "json_schema", "json_schema": {"name": "bad", "schema": schema}},
        )
    error = e.value.body
    assert f'"{keyword}"' in error["message"]
    assert error["param"] == "response_format"


def test_bad_requests_name_the_parameter(server):
    import urllib.request

    def post(body):
        request = urllib.request.Request(
            server.base + "/v1/chat/completions", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            urllib.request.urlopen(request, timeout=30)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())["error"]
        pytest.fail(f"accepted: {body}")

    base = {"model": QWEN, "messages": [{"role": "user", "content": "x"}], "max_tokens": 5}
    cases = [
        ({"response_format": "json"}, "response_format"),
        ({"response_format": {"type": "yaml"}}, "response_format.type"),
        ({"response_format": {"type": "json_schema"}}, "response_format.json_schema"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": []}}}, "response_format.json_schema.schema"),
        ({"grammar": 5}, "grammar"),
        ({"grammar": "root ::= undefined-rule"}, "grammar"),
    ]
    for extra, param in cases:
        status, error = post({**base, **extra})
        assert status == 400 and error["param"] == param, (extra, error)


# "Hello" fits; then the grammar needs a character from an empty class, which no token gives.
DEAD_END = r'root ::= "Hello" [^\x00-\U0010FFFF]'


def test_a_grammar_dead_end_is_an_error_not_a_stop(client):
    kwargs = dict(model=QWEN, messages=[{"role": "user", "content": "Say hello."}], temperature=0, max_tokens=20,
                  extra_body={"grammar": DEAD_END})
    with pytest.raises(openai.InternalServerError) as e:
        client.chat.completions.create(**kwargs)
    assert e.value.status_code == 500 and e.value.code == "grammar_dead_end"
    assert "could not continue within the 'grammar'" in e.value.message
    text, finishes = "", []
    with pytest.raises(openai.APIError) as e:
        for chunk in client.chat.completions.create(stream=True, **kwargs):
            for c in chunk.choices:
                text += c.delta.content or ""
                if c.finish_reason:
                    finishes.append(c.finish_reason)
    assert "could not continue" in str(e.value)
    assert text == "Hello" and finishes == []
