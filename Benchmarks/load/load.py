#!/usr/bin/env python3
"""A bounded load test of an OpenAI-compatible server (studio serve or llama-server).

C concurrent clients each send R streaming chat requests, one after another (max_tokens 64,
prompts of about 50 tokens, temperature 0 with ignore_eos-free prompts that ask for long
answers). It reports the aggregate generation rate (completion tokens of all requests over the
wall time of the run) and the median and p90 time to first token.

    python3 Benchmarks/load/load.py --base http://127.0.0.1:8080 --model qwen2.5-coder:0.5b
    python3 Benchmarks/load/load.py --base http://127.0.0.1:8081 --model qwen --clients 1

Loopback only; every request has a timeout and the run stops by itself.
"""

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
from urllib.parse import urlparse

TOPICS = [
    "binary search trees", "hash maps", "quicksort", "the TCP handshake", "garbage collection", "B-trees",
    "dynamic programming", "the CAP theorem", "bloom filters", "consistent hashing", "Dijkstra's algorithm",
    "merge sort", "the actor model", "copy-on-write", "memory-mapped files", "vector clocks",
]


def prompt(i: int) -> str:
    # About 50 tokens with the chat template of a Qwen2.5 model.
    return (f"Explain {TOPICS[i % len(TOPICS)]} to a junior programmer. Cover how it works, when to use it, "
            f"its time and space costs, and one common mistake people make with it. Request {i}.")


def one_request(base, model, i, max_tokens, timeout):
    u = urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    body = json.dumps({
        "model": model, "messages": [{"role": "user", "content": prompt(i)}], "max_tokens": max_tokens,
        "temperature": 0, "stream": True, "stream_options": {"include_usage": True},
    })
    start = time.monotonic()
    conn.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    if r.status != 200:
        raise RuntimeError(f"HTTP {r.status}: {r.read()[:200]!r}")
    ttft = None
    tokens = 0
    chunks = 0
    buffer = b""
    done = False
    while not done:
        line = r.readline()
        if not line:
            break
        line = line.strip()
        if not line.startswith(b"data: "):
            continue
        data = line[6:]
        if data == b"[DONE]":
            done = True
            break
        event = json.loads(data)
        for c in event.get("choices") or []:
            if (c.get("delta") or {}).get("content"):
                chunks += 1
                if ttft is None:
                    ttft = time.monotonic() - start
        if event.get("usage"):
            tokens = event["usage"]["completion_tokens"]
    conn.close()
    return {"ttft": ttft, "tokens": tokens or chunks, "seconds": time.monotonic() - start, "prompt": prompt(i)}


def run(base, model, clients, requests, max_tokens, timeout):
    results, errors = [], []
    lock = threading.Lock()

    def client(c):
        for k in range(requests):
            try:
                res = one_request(base, model, c * requests + k, max_tokens, timeout)
                with lock:
                    results.append(res)
            except Exception as e:  # noqa: BLE001 - report every failure, keep the run bounded
                with lock:
                    errors.append(str(e))

    start = time.monotonic()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout * requests + 60)
    wall = time.monotonic() - start
    tokens = sum(r["tokens"] for r in results)
    ttfts = sorted(r["ttft"] for r in results if r["ttft"] is not None)
    return {
        "clients": clients, "requests": len(results), "errors": errors, "wall_seconds": round(wall, 2),
        "completion_tokens": tokens, "aggregate_tokens_per_second": round(tokens / wall, 1) if wall > 0 else 0,
        "median_ttft_seconds": round(statistics.median(ttfts), 3) if ttfts else None,
        "p90_ttft_seconds": round(ttfts[int(0.9 * (len(ttfts) - 1))], 3) if ttfts else None,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="http://127.0.0.1:8080", help="server URL (loopback only)")
    ap.add_argument("--model", default="qwen2.5-coder:0.5b")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--requests", type=int, default=8, help="requests per client")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=120, help="seconds per request")
    ap.add_argument("--single", action="store_true", help="also run 1 client x REQUESTS for comparison")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    host = urlparse(a.base).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("load.py only targets loopback addresses")
    # Warm-up: load the model and touch the code paths.
    one_request(a.base, a.model, 999, 4, a.timeout)
    runs = [run(a.base, a.model, a.clients, a.requests, a.max_tokens, a.timeout)]
    if a.single:
        runs.append(run(a.base, a.model, 1, a.requests, a.max_tokens, a.timeout))
    if a.json:
        print(json.dumps(runs, indent=2))
    else:
        for r in runs:
            print(f"{r['clients']} client(s) x {a.requests}: {r['requests']} ok, {len(r['errors'])} errors, "
                  f"{r['completion_tokens']} tokens in {r['wall_seconds']} s = {r['aggregate_tokens_per_second']} tok/s, "
                  f"TTFT median {r['median_ttft_seconds']} s, p90 {r['p90_ttft_seconds']} s")
            for e in r["errors"][:3]:
                print("  error:", e)
    if any(r["errors"] for r in runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
