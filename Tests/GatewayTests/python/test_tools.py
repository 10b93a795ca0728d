"""Tool calling through the openai SDK against a real `studio serve` (qwen2.5-coder:0.5b): a full
round trip (call, tool result, answer), forced calls that always parse and validate, a named
tool_choice, parallel calls, streamed delta.tool_calls, and the 400s."""

import json
from concurrent.futures import ThreadPoolExecutor

import jsonschema
import openai
import pytest

QWEN = "qwen2.5-coder:0.5b"


def tool(name, description, properties, required):
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


TOOLS = [
    tool("get_weather", "Get the current weather in a city.",
         {"city": {"type": "string", "description": "City name"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, ["city"]),
    tool("add", "Add two numbers.", {"a": {"type": "number"}, "b": {"type": "number"}}, ["a", "b"]),
    tool("send_email", "Send an email.",
         {"to": {"type": "string", "format": "email"}, "subject": {"type": "string", "maxLength": 80},
          "urgent": {"type": "boolean"}}, ["to", "subject"]),
    tool("create_event", "Put an event in the calendar.",
         {"title": {"type": "string", "maxLength": 60}, "date": {"type": "string", "format": "date"},
          "attendees": {"type": "array", "items": {"type": "string"}, "maxItems": 5}}, ["title", "date"]),
]
PARAMETERS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER

PROMPTS = [
    "What's the weather like in Paris?",
    "Is it raining in Tokyo right now?",
    "How hot is it in Cairo, in fahrenheit?",
    "Tell me the temperature in Oslo.",
    "What is 17 plus 25?",
    "Add 3.5 and 4.25 for me.",
    "What do you get when you sum 1000 and 2024?",
    "Compute 12 + 30.",
    "Email bob@example.com that the build is broken.",
    "Send a note to alice@example.org with the subject 'Lunch'.",
    "Urgently email ops@example.net: the server is down.",
    "Let carol@example.com know the meeting moved.",
    "Schedule a dentist appointment on 2025-03-14.",
    "Put 'Team retro' in my calendar for next Friday, 2025-06-06, with Ann and Raj.",
    "Create an event called Launch on 2025-01-01.",
    "Add my mother's birthday party on 2025-09-21 to the calendar.",
    "Should I take an umbrella in London today?",
    "I need the sum of 99 and 1.",
    "Write to team@example.com about the release notes.",
    "Book 'Quarterly planning' for 2025-04-02 with Lee.",
    "Hello! How are you?",
    "Tell me a joke.",
]


def check_call(call):
    assert call.type == "function"
    assert call.id.startswith("call_")
    assert call.function.name in PARAMETERS
    arguments = json.loads(call.function.arguments)
    jsonschema.validate(arguments, PARAMETERS[call.function.name], format_checker=FORMATS)
    return arguments


@pytest.mark.parametrize("city, celsius", [("Paris", 23), ("Berlin", 11), ("Madrid", 31)])
def test_round_trip_call_result_answer(client, city, celsius):
    messages = [{"role": "user", "content": f"What is the weather in {city} right now?"}]
    first = client.chat.completions.create(model=QWEN, messages=messages, tools=TOOLS, temperature=0, max_tokens=200)
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls", choice.message
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert city.lower() in check_call(call)["city"].lower()

    messages.append({
        "role": "assistant", "content": None,
        "tool_calls": [{"id": call.id, "type": "function",
                        "function": {"name": call.function.name, "arguments": call.function.arguments}}],
    })
    messages.append({"role": "tool", "tool_call_id": call.id,
                     "content": f"It is {celsius} degrees Celsius and sunny in {city}."})
    # qwen2.5-coder:0.5b, offered the tools again, keeps calling them; "none" asks for the answer.
    second = client.chat.completions.create(
        model=QWEN, messages=messages, tools=TOOLS, tool_choice="none", temperature=0, max_tokens=80)
    answer = second.choices[0]
    assert answer.finish_reason == "stop"
    assert not answer.message.tool_calls
    assert str(celsius) in answer.message.content


def test_required_always_yields_a_valid_call(client):
    def ask(prompt):
        return client.chat.completions.create(
            model=QWEN, messages=[{"role": "user", "content": prompt}], tools=TOOLS, tool_choice="required",
            temperature=1.0, max_tokens=300)

    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(ask, PROMPTS))
    assert len(responses) > 20
    for prompt, r in zip(PROMPTS, responses):
        choice = r.choices[0]
        assert choice.finish_reason == "tool_calls", (prompt, choice.message)
        assert choice.message.tool_calls, prompt
        for call in choice.message.tool_calls:
            check_call(call)


def test_named_tool_choice_calls_that_function(client):
    r = client.chat.completions.create(
        model=QWEN, messages=[{"role": "user", "content": "What is the weather in Rome?"}], tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "add"}}, temperature=1.0, max_tokens=200)
    calls = r.choices[0].message.tool_calls
    assert r.choices[0].finish_reason == "tool_calls"
    assert len(calls) == 1 and calls[0].function.name == "add"
    check_call(calls[0])


def test_parallel_calls(client):
    r = client.chat.completions.create(
        model=QWEN, messages=[{"role": "user", "content": "What is the weather in Paris and in Tokyo?"}],
        tools=TOOLS, tool_choice="required", temperature=0, max_tokens=300)
    calls = r.choices[0].message.tool_calls
    assert len(calls) >= 2
    assert len({c.id for c in calls}) == len(calls)
    cities = {check_call(c)["city"].lower() for c in calls if c.function.name == "get_weather"}
    assert {"paris", "tokyo"} <= cities


def test_parallel_tool_calls_false_makes_one_call(client):
    r = client.chat.completions.create(
        model=QWEN, messages=[{"role": "user", "content": "What is the weather in Paris and in Tokyo?"}],
        tools=TOOLS, tool_choice="required", parallel_tool_calls=False, temperature=0, max_tokens=300)
    assert len(r.choices[0].message.tool_calls) == 1


def test_streamed_tool_calls_reassemble_to_the_same_calls(client):
    kwargs = dict(model=QWEN, messages=[{"role": "user", "content": "What is the weather in Paris and in Tokyo?"}],
                  tools=TOOLS, tool_choice="required", temperature=0, max_tokens=300)
    plain = client.chat.completions.create(**kwargs).choices[0].message.tool_calls
    calls = {}
    finish = None
    for chunk in client.chat.completions.create(stream=True, **kwargs):
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        finish = chunk.choices[0].finish_reason or finish
        assert not delta.content
        for d in delta.tool_calls or []:
            entry = calls.setdefault(d.index, {"id": None, "name": None, "arguments": ""})
            if d.id:
                assert entry["id"] is None
                entry["id"] = d.id
                assert d.type == "function"
            if d.function and d.function.name:
                entry["name"] = d.function.name
            if d.function and d.function.arguments:
                entry["arguments"] += d.function.arguments
    assert finish == "tool_calls"
    assert sorted(calls) == list(range(len(plain)))
    for i, call in enumerate(plain):
        assert calls[i]["id"].startswith("call_")
        assert (calls[i]["name"], json.loads(calls[i]["arguments"])) == (call.function.name, json.loads(call.function.arguments))


def test_streamed_arguments_arrive_in_fragments_that_join_exactly(client):
    """OpenAI's shape: a first delta per call with index, id, type, name and arguments "", then
    the arguments in fragments as they are generated; joined, they equal the non-streamed
    arguments string exactly (the model's own text in both)."""
    kwargs = dict(model=QWEN, messages=[{"role": "user", "content": "What is the weather in Paris and in Tokyo?"}],
                  tools=TOOLS, tool_choice="required", temperature=0, max_tokens=300)
    plain = client.chat.completions.create(**kwargs).choices[0].message.tool_calls
    arguments, fragments = {}, {}
    for chunk in client.chat.completions.create(stream=True, **kwargs):
        for d in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            if d.index not in arguments:
                assert d.index == len(arguments)
                assert d.id.startswith("call_") and d.type == "function" and d.function.name in PARAMETERS
                assert d.function.arguments == ""
                arguments[d.index], fragments[d.index] = "", 0
            else:
                assert d.index == len(arguments) - 1, "fragments belong to the latest call"
                assert d.id is None and d.function.name is None
                arguments[d.index] += d.function.arguments
                fragments[d.index] += 1
    assert len(plain) >= 2
    assert [arguments[i] for i in sorted(arguments)] == [c.function.arguments for c in plain]
    assert all(n > 1 for n in fragments.values()), fragments


def test_tool_choice_none_offers_no_tools(client):
    r = client.chat.completions.create(
        model=QWEN, messages=[{"role": "user", "content": "What is the weather in Paris?"}], tools=TOOLS,
        tool_choice="none", temperature=0, max_tokens=40)
    assert not r.choices[0].message.tool_calls
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.choices[0].message.content


@pytest.mark.parametrize(
    "extra, param",
    [
        ({"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "launch_rockets"}}}, "tool_choice"),
        ({"tools": TOOLS, "tool_choice": "sometimes"}, "tool_choice"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": [{"type": "function"}]}, "tools[0].function"),
        ({"tools": [{"type": "retrieval", "function": {"name": "x"}}]}, "tools[0].type"),
        ({"tools": [{"type": "function", "function": {"name": "has space"}}]}, "tools[0].function.name"),
        ({"tools": TOOLS, "parallel_tool_calls": "yes"}, "parallel_tool_calls"),
        ({"tools": [tool("f", "", {"a": {"not": {}}}, [])], "tool_choice": "required"}, "tools[0].function.parameters"),
        ({"tools": TOOLS + [tool("f", "", {"a": {"not": {}}}, [])], "tool_choice": {"type": "function", "function": {"name": "f"}}},
         "tools[4].function.parameters"),
    ],
)
def test_bad_tool_requests_are_400s_naming_the_parameter(client, extra, param):
    body = dict(extra)
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model=QWEN, messages=[{"role": "user", "content": "x"}], max_tokens=5,
            tools=body.pop("tools", openai.NOT_GIVEN), tool_choice=body.pop("tool_choice", openai.NOT_GIVEN),
            extra_body=body or None)
    assert e.value.body["param"] == param, e.value.body
