"""`echo` on the local engine through the openai SDK, as OpenAI's legacy completions answer it:
the prompt before the completion, and with `logprobs` the prompt's tokens scored too."""

import json
import math
import os
import subprocess

from conftest import HOME, studio_binary

SMOL = "smollm2:135m"
PROMPT = "The capital of France is"


def greedy_ids(prompt: str, tokens: int) -> dict:
    """`studio run --json`: the prompt's token ids and the greedy continuation's."""
    result = subprocess.run(
        [str(studio_binary()), "run", SMOL, prompt, "--temperature", "0", "--max-tokens", str(tokens), "--json",
         "--threads", "2"],
        env={**os.environ, "STUDIO_HOME": str(HOME)}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_echo_puts_the_prompt_before_every_choice(client):
    plain = client.completions.create(model=SMOL, prompt=PROMPT, max_tokens=5, temperature=0)
    r = client.completions.create(model=SMOL, prompt=PROMPT, max_tokens=5, temperature=0, echo=True, n=2)
    assert [c.text for c in r.choices] == [PROMPT + plain.choices[0].text] * 2
    assert r.usage.prompt_tokens == plain.usage.prompt_tokens
    assert r.usage.completion_tokens == 2 * plain.usage.completion_tokens

    chunks = list(client.completions.create(model=SMOL, prompt=PROMPT, max_tokens=5, temperature=0, echo=True,
                                            stream=True))
    texts = [c.choices[0].text for c in chunks if c.choices]
    assert texts[0] == PROMPT
    assert "".join(texts) == PROMPT + plain.choices[0].text


def test_echo_with_logprobs_scores_the_prompt_tokens(client):
    ids = greedy_ids(PROMPT, 1)["prompt_token_ids"]
    plain = client.completions.create(model=SMOL, prompt=PROMPT, max_tokens=4, temperature=0, logprobs=2)
    r = client.completions.create(model=SMOL, prompt=PROMPT, max_tokens=4, temperature=0, logprobs=2, echo=True)
    choice = r.choices[0]
    lp = choice.logprobs
    assert choice.text == PROMPT + plain.choices[0].text
    # The tokens are the prompt's (as `studio` tokenizes it), then the completion's.
    assert len(ids) == r.usage.prompt_tokens
    assert "".join(lp.tokens[:len(ids)]) == PROMPT
    assert lp.tokens == lp.tokens[:len(ids)] + plain.choices[0].logprobs.tokens
    assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None
    assert all(v is not None and v <= 0 for v in lp.token_logprobs[1:])
    assert all(len(top) == 2 for top in lp.top_logprobs[1:])
    for value, wanted in zip(lp.token_logprobs[len(ids):], plain.choices[0].logprobs.token_logprobs, strict=True):
        assert math.isclose(value, wanted, abs_tol=0.02), (value, wanted)
    offsets, at = [], 0
    for t in lp.tokens:
        offsets.append(at)
        at += len(t)
    assert lp.text_offset == offsets

    # Streamed: the prompt and its entries come first, in one chunk.
    chunks = [c for c in client.completions.create(model=SMOL, prompt=PROMPT, max_tokens=4, temperature=0, logprobs=2,
                                                   echo=True, stream=True) if c.choices]
    first = chunks[0].choices[0]
    assert first.text == PROMPT
    assert first.logprobs.tokens == lp.tokens[:len(ids)]
    assert first.logprobs.token_logprobs == lp.token_logprobs[:len(ids)]
    assert [t for c in chunks for t in (c.choices[0].logprobs.tokens if c.choices[0].logprobs else [])] == lp.tokens


def test_scoring_a_text_matches_its_greedy_generation(client):
    """Tokens generated greedily, then scored as part of a prompt with `max_tokens` 0: each gets
    the log-probability it had when it was generated, and is the top alternative of its place."""
    run = greedy_ids(PROMPT, 4)
    prompt, generated = run["prompt_token_ids"], run["token_ids"]
    assert len(generated) == 4
    greedy = client.completions.create(model=SMOL, prompt=prompt, max_tokens=4, temperature=0, logprobs=1)
    assert "".join(greedy.choices[0].logprobs.tokens) == run["text"]

    scored = client.completions.create(model=SMOL, prompt=prompt + generated, max_tokens=0, echo=True, logprobs=1)
    choice = scored.choices[0]
    assert choice.finish_reason == "length"
    assert scored.usage.completion_tokens == 0 and scored.usage.prompt_tokens == len(prompt) + 4
    assert choice.text == "".join(choice.logprobs.tokens)
    assert choice.text.endswith(run["text"])
    tail = slice(len(prompt), None)
    assert choice.logprobs.tokens[tail] == greedy.choices[0].logprobs.tokens
    for value, top, wanted in zip(choice.logprobs.token_logprobs[tail], choice.logprobs.top_logprobs[tail],
                                  greedy.choices[0].logprobs.token_logprobs):
        assert math.isclose(value, wanted, abs_tol=0.02), (value, wanted)
        assert math.isclose(max(top.values()), value, abs_tol=1e-6)
