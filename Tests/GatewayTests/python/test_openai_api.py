"""Drives a real `studio serve` with the official openai SDK and with curl."""

import json
import math
import subprocess

import openai
import pytest

SMOL = "smollm2:135m"
QWEN = "qwen2.5-coder:0.5b"
ASK = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


def test_models_list(client):
    ids = [m.id for m in client.models.list().data]
    assert ids == [SMOL, QWEN]
    assert client.models.retrieve(QWEN).id == QWEN


def test_chat_non_streaming(client):
    r = client.chat.completions.create(model=SMOL, messages=ASK, max_tokens=16, temperature=0)
    assert r.id.startswith("chatcmpl-")
    assert r.object == "chat.completion"
    assert r.model == SMOL
    assert len(r.choices) == 1
    choice = r.choices[0]
    assert choice.index == 0
    assert choice.message.role == "assistant"
    assert "Paris" in choice.message.content
    assert choice.finish_reason in ("stop", "length")
    assert r.usage.prompt_tokens > 10
    assert 0 < r.usage.completion_tokens <= 16
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_chat_streaming_with_usage(client):
    stream = client.chat.completions.create(
        model=SMOL, messages=ASK, max_tokens=16, temperature=0, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert finish and finish[-1] in ("stop", "length")
    usage = chunks[-1].usage
    assert chunks[-1].choices == []
    assert usage is not None and usage.completion_tokens > 0
    # Streaming and not give the same greedy text and the same counts.
    plain = client.chat.completions.create(model=SMOL, messages=ASK, max_tokens=16, temperature=0)
    assert text == plain.choices[0].message.content
    assert usage.completion_tokens == plain.usage.completion_tokens
    assert usage.prompt_tokens == plain.usage.prompt_tokens


def test_completions_streaming_and_not(client):
    r = client.completions.create(model=QWEN, prompt="def add(a, b):\n    return", max_tokens=8, temperature=0)
    assert r.object == "text_completion"
    assert r.choices[0].text.strip().startswith("a + b")
    assert r.usage.completion_tokens <= 8
    pieces = list(client.completions.create(model=QWEN, prompt="def add(a, b):\n    return", max_tokens=8, temperature=0, stream=True))
    assert "".join(p.choices[0].text for p in pieces if p.choices) == r.choices[0].text
    assert pieces[-1].choices[0].finish_reason == r.choices[0].finish_reason


def test_chat_logprobs(client):
    r = client.chat.completions.create(model=SMOL, messages=ASK, max_tokens=6, temperature=0, logprobs=True, top_logprobs=3)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens
    assert "".join(t.token for t in content) == r.choices[0].message.content
    for t in content:
        assert t.logprob <= 0
        assert len(t.top_logprobs) == 3
        assert t.bytes == list(t.token.encode())
        # Greedy: the chosen token is the most likely one.
        assert t.top_logprobs[0].token == t.token
        assert math.isclose(t.top_logprobs[0].logprob, t.logprob, abs_tol=1e-5)
        assert t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob >= t.top_logprobs[2].logprob


def test_completion_logprobs(client):
    r = client.completions.create(model=SMOL, prompt="The capital of France is", max_tokens=4, temperature=0, logprobs=2)
    lp = r.choices[0].logprobs
    assert "".join(lp.tokens) == r.choices[0].text
    assert len(lp.token_logprobs) == len(lp.tokens) == len(lp.top_logprobs) == len(lp.text_offset)
    assert all(len(top) == 2 for top in lp.top_logprobs)
    assert lp.text_offset[0] == 0


def test_n_two_choices(client):
    r = client.chat.completions.create(model=SMOL, messages=ASK, max_tokens=12, temperature=1.0, seed=7, n=2)
    assert [c.index for c in r.choices] == [0, 1]
    assert all(c.message.content for c in r.choices)
    assert r.usage.completion_tokens > 0
    stream = client.chat.completions.create(model=SMOL, messages=ASK, max_tokens=12, temperature=1.0, seed=7, n=2, stream=True)
    texts = {0: "", 1: ""}
    for chunk in stream:
        for c in chunk.choices:
            texts[c.index] += c.delta.content or ""
    assert [texts[0], texts[1]] == [c.message.content for c in r.choices]


def test_stop_strings(client):
    prompt = "1, 2, 3, 4,"
    plain = client.completions.create(model=QWEN, prompt=prompt, max_tokens=20, temperature=0)
    assert " 6," in plain.choices[0].text
    r = client.completions.create(model=QWEN, prompt=prompt, max_tokens=20, temperature=0, stop=[" 6", "zzz"])
    assert r.choices[0].text == plain.choices[0].text.split(" 6")[0]
    assert r.choices[0].finish_reason == "stop"
    single = client.completions.create(model=QWEN, prompt=prompt, max_tokens=20, temperature=0, stop=" 6")
    assert single.choices[0].text == r.choices[0].text


def test_seed_reproducibility(client):
    kwargs = dict(model=SMOL, messages=[{"role": "user", "content": "Write a short poem about the sea."}], max_tokens=24, temperature=1.0, top_p=0.95)
    a = client.chat.completions.create(seed=123, **kwargs).choices[0].message.content
    b = client.chat.completions.create(seed=123, **kwargs).choices[0].message.content
    c = client.chat.completions.create(seed=456, **kwargs).choices[0].message.content
    assert a == b
    assert a != c


def test_two_models_in_one_server(client):
    a = client.chat.completions.create(model=SMOL, messages=ASK, max_tokens=8, temperature=0)
    b = client.chat.completions.create(model=QWEN, messages=ASK, max_tokens=8, temperature=0)
    assert a.model == SMOL and b.model == QWEN
    assert a.choices[0].message.content and b.choices[0].message.content
    # Different tokenizers and templates: the prompt lengths differ.
    assert a.usage.prompt_tokens != b.usage.prompt_tokens


def test_sdk_errors(client):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="no-such-model", messages=ASK)
    assert e.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=SMOL, messages=ASK, max_tokens=10**9)
    assert e.value.body["code"] == "context_length_exceeded"
    assert "too many" in e.value.body["message"]
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=SMOL, messages=ASK, temperature="hot")
    assert e.value.body["param"] == "temperature"


def curl(server, path, body, *extra):
    out = subprocess.run(
        ["curl", "-sS", "-N", "-w", "\n%{http_code}", "-H", "Content-Type: application/json", *extra,
         "-d", json.dumps(body), server.base + path],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    text, _, status = out.rpartition("\n")
    return int(status), text


def test_curl_streaming_sse(server):
    status, text = curl(server, "/v1/chat/completions", {"model": SMOL, "messages": ASK, "max_tokens": 8, "stream": True})
    assert status == 200
    events = [e for e in text.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    first = json.loads(events[0][6:])
    assert first["object"] == "chat.completion.chunk"
    assert first["choices"][0]["delta"]["role"] == "assistant"


def test_curl_completion_and_errors(server):
    status, text = curl(server, "/v1/completions", {"model": SMOL, "prompt": "Hello", "max_tokens": 3})
    assert status == 200
    body = json.loads(text)
    assert body["object"] == "text_completion" and body["usage"]["completion_tokens"] <= 3
    status, text = curl(server, "/v1/chat/completions", {"model": SMOL, "messages": "nope"})
    assert status == 400
    error = json.loads(text)["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["param"] == "messages"


def test_health_and_metrics(server):
    status, body = server.get("/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    status, body = server.get("/metrics")
    text = body.decode()
    assert status == 200
    for name in ("studio_requests_total", "studio_prompt_tokens_total", "studio_completion_tokens_total",
                 "studio_time_to_first_token_seconds_bucket", "studio_request_duration_seconds_bucket",
                 "studio_queue_depth", "studio_active_sequences", "studio_kv_cache_tokens"):
        assert name in text, name
    assert 'studio_requests_total{path="/v1/chat/completions",status="200"}' in text
