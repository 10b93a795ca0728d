"""Routing to a remote OpenAI-compatible engine, with two real `studio serve` processes.

B serves smollm2:135m. A serves qwen2.5-coder:0.5b and smollm2:135m itself, and is started with
`--remote b=<B>/v1 --route smollm2:135m=b,local`: smollm2 goes to B first and to A's own engine
when B cannot answer. A second A points at a port where nothing listens, to see the fallback.
"""

import json
import re
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest

from conftest import free_port, start_server, stop_server

SMOL = "smollm2:135m"
QWEN = "qwen2.5-coder:0.5b"
ASK = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
COMMON = ("--threads", "1", "--ctx", "1024", "--parallel", "2")


def completion_tokens(server) -> int:
    """studio_completion_tokens_total from the server's /metrics."""
    status, body = server.get("/metrics")
    assert status == 200
    match = re.search(rb"^studio_completion_tokens_total (\d+)$", body, re.M)
    assert match, body[:500]
    return int(match.group(1))


def loaded_models(server) -> set[str]:
    """Models whose engine is loaded (they have slots in /metrics)."""
    _, body = server.get("/metrics")
    return {m.decode() for m in re.findall(rb'^studio_slots\{model="([^"]+)"\}', body, re.M)}


def client_for(server):
    return openai.OpenAI(base_url=server.base + "/v1", api_key="unused", max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("remote")
    b = start_server(tmp, "--model", SMOL, *COMMON)
    try:
        a = start_server(tmp, "--model", QWEN, "--model", SMOL, *COMMON,
                         "--remote", f"b={b.base}/v1", "--route", f"{SMOL}=b,local", "--remote-timeout", "60s")
    except BaseException:
        stop_server(b)
        raise
    yield a, b
    stop_server(a)
    stop_server(b)


@pytest.fixture(scope="module")
def orphan(tmp_path_factory):
    """An A whose remote is down: smollm2 must fall back to its local engine."""
    dead = f"http://127.0.0.1:{free_port()}/v1"
    a = start_server(tmp_path_factory.mktemp("orphan"), "--model", QWEN, "--model", SMOL, *COMMON,
                     "--remote", f"b={dead}", "--route", f"{SMOL}=b,local", "--route", "only-remote=b")
    yield a
    stop_server(a)


def test_models_of_both_are_listed(servers):
    a, _ = servers
    ids = [m.id for m in client_for(a).models.list().data]
    assert ids == [QWEN, SMOL]


def test_remote_model_answers_through_a_and_matches_b(servers):
    a, b = servers
    before = completion_tokens(b)
    via_a = client_for(a).chat.completions.create(model=SMOL, messages=ASK, max_tokens=12, temperature=0)
    direct = client_for(b).chat.completions.create(model=SMOL, messages=ASK, max_tokens=12, temperature=0)
    assert via_a.model == SMOL
    assert via_a.choices[0].message.content == direct.choices[0].message.content
    assert "Paris" in via_a.choices[0].message.content
    assert via_a.choices[0].finish_reason == direct.choices[0].finish_reason
    # The usage is B's own count, passed through.
    assert via_a.usage.prompt_tokens == direct.usage.prompt_tokens
    assert via_a.usage.completion_tokens == direct.usage.completion_tokens
    # B generated both answers; A never loaded its own smollm2.
    assert completion_tokens(b) - before == via_a.usage.completion_tokens + direct.usage.completion_tokens
    assert SMOL not in loaded_models(a)


def test_remote_model_streams_through_a(servers):
    a, b = servers
    stream = client_for(a).chat.completions.create(
        model=SMOL, messages=ASK, max_tokens=12, temperature=0, stream=True, stream_options={"include_usage": True})
    pieces, finish, usage = [], None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
            if choice.finish_reason:
                finish = choice.finish_reason
    direct = client_for(b).chat.completions.create(model=SMOL, messages=ASK, max_tokens=12, temperature=0)
    assert len(pieces) > 1, "the answer should arrive in several chunks"
    assert "".join(pieces) == direct.choices[0].message.content
    assert finish == direct.choices[0].finish_reason
    assert usage is not None and usage.completion_tokens == direct.usage.completion_tokens


def test_remote_text_completion_with_logprobs(servers):
    a, b = servers
    args = dict(model=SMOL, prompt="The capital of France is", max_tokens=6, temperature=0, logprobs=2)
    via_a = client_for(a).completions.create(**args)
    direct = client_for(b).completions.create(**args)
    assert via_a.choices[0].text == direct.choices[0].text
    assert via_a.choices[0].logprobs.tokens == direct.choices[0].logprobs.tokens
    for x, y in zip(via_a.choices[0].logprobs.token_logprobs, direct.choices[0].logprobs.token_logprobs):
        assert x == pytest.approx(y, abs=1e-4)


def test_local_model_still_answers_on_a(servers):
    a, _ = servers
    r = client_for(a).chat.completions.create(model=QWEN, messages=ASK, max_tokens=8, temperature=0)
    assert "Paris" in r.choices[0].message.content
    assert QWEN in loaded_models(a)


def test_unknown_model_is_404(servers):
    a, _ = servers
    with pytest.raises(openai.NotFoundError):
        client_for(a).chat.completions.create(model="no-such-model", messages=ASK, max_tokens=4)


def test_down_remote_falls_back_to_the_local_engine(orphan):
    c = client_for(orphan)
    r = c.chat.completions.create(model=SMOL, messages=ASK, max_tokens=12, temperature=0)
    assert "Paris" in r.choices[0].message.content
    assert SMOL in loaded_models(orphan)
    stream = c.chat.completions.create(model=SMOL, messages=ASK, max_tokens=12, temperature=0, stream=True)
    assert "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices) == r.choices[0].message.content


def test_a_route_with_no_backend_left_is_503_not_200(orphan):
    c = client_for(orphan)
    for stream in (False, True):
        with pytest.raises(openai.APIStatusError) as e:
            r = c.chat.completions.create(model="only-remote", messages=ASK, max_tokens=4, stream=stream)
            if stream:
                list(r)
        assert e.value.status_code == 503
        assert "'b'" in str(e.value)


class FailingRemote(BaseHTTPRequestHandler):
    """An OpenAI-compatible remote whose generation fails: before its first token for model
    `fails-early`, after one token for `fails-late` (both after a 200 status line)."""

    def log_message(self, *args):
        pass

    def send_events(self, events):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for event in events:
            self.wfile.write(f"data: {event}\n\n".encode())
            self.wfile.flush()

    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "x"}
                                                      for m in ("fails-early", "fails-late")]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        error = json.dumps({"error": {"message": "the engine died", "type": "server_error", "code": 500}})
        token = json.dumps({"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]})
        self.send_events([token, error] if request["model"] == "fails-late" else [error])
        self.close_connection = True


@pytest.fixture(scope="module")
def failing(tmp_path_factory):
    remote = ThreadingHTTPServer(("127.0.0.1", 0), FailingRemote)
    threading.Thread(target=remote.serve_forever, daemon=True).start()
    a = start_server(tmp_path_factory.mktemp("failing"), "--model", SMOL, *COMMON,
                     "--remote", f"f=http://127.0.0.1:{remote.server_port}/v1")
    yield a
    stop_server(a)
    remote.shutdown()


def post(server, body: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(server.base + "/v1/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_a_failure_before_the_first_token_gets_its_status(failing):
    """The non-streamed status line waits for the first event, so this is a 500, not a 200."""
    status, body = post(failing, {"model": "fails-early", "messages": ASK})
    assert status == 500, body
    assert "the engine died" in json.loads(body)["error"]["message"]


def test_a_failure_after_the_first_token_is_an_error_body(failing):
    """Documented limit: once generation has started the status is sent; the error is the body."""
    status, body = post(failing, {"model": "fails-late", "messages": ASK})
    assert status == 200
    assert "the engine died" in json.loads(body)["error"]["message"]
    status, body = post(failing, {"model": "fails-late", "messages": ASK, "stream": True})
    assert status == 200
    events = [line[6:] for line in body.decode().splitlines() if line.startswith("data: ")]
    assert json.loads(events[1])["choices"][0]["delta"]["content"] == "Hel"
    assert "the engine died" in json.loads(events[-2])["error"]["message"]
    assert events[-1] == "[DONE]"


class ThinkingRemote(BaseHTTPRequestHandler):
    """A vLLM-like remote serving a reasoning model `thinker`: its answers carry
    `reasoning_content` apart from the content and never any usage. It keeps every body it gets."""

    bodies: list = []
    REASONING = ["The capital of France", " is Paris."]

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": "thinker", "object": "model", "created": 0, "owned_by": "x"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ThinkingRemote.bodies.append(request)
        if self.path.endswith("/chat/completions"):
            deltas = [{"role": "assistant", "content": ""}] + [{"reasoning_content": r} for r in self.REASONING]
            deltas.append({"content": "Paris", "reasoning_content": None})
            events = [{"choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
            events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        else:
            events = [{"choices": [{"index": 0, "text": "Paris", "finish_reason": "stop"}]}]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for event in events + ["[DONE]"]:
            self.wfile.write(f"data: {event if event == '[DONE]' else json.dumps(event)}\n\n".encode())
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture(scope="module")
def thinking(tmp_path_factory):
    remote = ThreadingHTTPServer(("127.0.0.1", 0), ThinkingRemote)
    threading.Thread(target=remote.serve_forever, daemon=True).start()
    a = start_server(tmp_path_factory.mktemp("thinking"), "--model", SMOL, *COMMON,
                     "--remote", f"t=http://127.0.0.1:{remote.server_port}/v1")
    yield a
    stop_server(a)
    remote.shutdown()


def test_a_remote_without_usage_reasoning_user_and_echo(thinking):
    """No usage from the remote: the SDK sees usage None (not 0/0) and the audit log NULL;
    reasoning_content reaches the message and the deltas; user and echo reach the remote."""
    client = client_for(thinking)
    r = client.chat.completions.create(model="thinker", messages=ASK, user="user-42")
    assert r.usage is None
    assert r.choices[0].message.content == "Paris"
    assert r.choices[0].message.reasoning_content == "The capital of France is Paris."
    assert ThinkingRemote.bodies[-1]["user"] == "user-42"

    reasoning, content = [], ""
    for chunk in client.chat.completions.create(model="thinker", messages=ASK, stream=True,
                                                stream_options={"include_usage": True}):
        assert chunk.usage is None
        for c in chunk.choices:
            if getattr(c.delta, "reasoning_content", None):
                reasoning.append(c.delta.reasoning_content)
            content += c.delta.content or ""
    assert reasoning == ThinkingRemote.REASONING and content == "Paris"
    assert "user" not in ThinkingRemote.bodies[-1]

    t = client.completions.create(model="thinker", prompt="The capital of France is", echo=True, user="user-7", max_tokens=4)
    assert t.usage is None and t.choices[0].text == "Paris"
    assert ThinkingRemote.bodies[-1]["echo"] is True and ThinkingRemote.bodies[-1]["user"] == "user-7"

    # The newest three records are this test's (the shared home keeps earlier runs' too).
    status, body = thinking.get("/api/admin/logs?model=thinker&limit=3")
    assert status == 200, body
    rows = json.loads(body)["data"]
    assert [(row["endpoint"], row["stream"]) for row in rows] == [
        ("/v1/completions", False), ("/v1/chat/completions", True), ("/v1/chat/completions", False)]
    assert all(row["prompt_tokens"] is None and row["completion_tokens"] is None for row in rows), rows
    # The reasoning is kept apart from the response, streamed or not; a completion has none.
    details = []
    for row in rows:
        status, body = thinking.get(f"/api/admin/logs/{row['id']}")
        assert status == 200, body
        details.append(json.loads(body))
    assert [d["reasoning"] for d in details] == [None, "The capital of France is Paris.", "The capital of France is Paris."]
    assert [d["response"] for d in details[1:]] == ["Paris", "Paris"], details
