#!/usr/bin/env python3
"""Decode speed with and without a JSON Schema, on the same prompts.

Runs `studio run --json` for each prompt twice in a row: with --json-schema, then free with
--max-tokens set to the number of tokens the constrained run generated, so that both decode
the same number of tokens at the same context lengths. Prints tokens/s side by side and the
ratio of the means (constrained / free). Usage:

    python3 Benchmarks/structured/bench.py --studio .build/release/studio --model qwen2.5-coder:0.5b
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

PROMPTS = [
    "Invent a person and describe them as JSON.",
    "Describe a fictional employee of a bakery as JSON.",
    "Give me a JSON record for a new user of a chess website.",
    "Make up a customer profile as JSON.",
    "Describe a character from a fantasy novel as JSON.",
    "Write a JSON profile for a software engineer.",
]


def chat(text):
    return ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n")


def run(studio, model, prompt, seed, max_tokens, schema):
    cmd = [studio, "run", model, chat(prompt), "--special", "--json", "--temperature", "1.0",
           "--seed", str(seed), "--max-tokens", str(max_tokens), "--threads", "2"]
    if schema:
        cmd += ["--json-schema", schema]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"studio run failed: {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--studio", default=".build/release/studio")
    ap.add_argument("--model", default="qwen2.5-coder:0.5b")
    ap.add_argument("--schema", default=os.path.join(HERE, "person.schema.json"))
    ap.add_argument("--max-tokens", type=int, default=160)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()

    free, constrained = [], []
    print(f"{'prompt':<55} {'free tok/s':>10} {'schema tok/s':>12} {'tokens':>12} valid")
    for r in range(args.rounds):
        for i, prompt in enumerate(PROMPTS):
            seed = 1000 * r + i
            c = run(args.studio, args.model, prompt, seed, args.max_tokens, args.schema)
            f = run(args.studio, args.model, prompt, seed, max(1, len(c["token_ids"])), None)
            try:
                json.loads(c["text"])
                valid = "yes"
            except ValueError:
                valid = "NO"
            free.append(f["tokens_per_second"])
            constrained.append(c["tokens_per_second"])
            print(f"{prompt[:55]:<55} {f['tokens_per_second']:>10.1f} {c['tokens_per_second']:>12.1f} "
                  f"{len(f['token_ids']):>5}/{len(c['token_ids']):<6} {valid}")
    mf, mc = statistics.mean(free), statistics.mean(constrained)
    print(f"\nmean decode tok/s: free {mf:.1f}, with schema {mc:.1f}; ratio schema/free = {mc / mf:.3f} "
          f"({(1 - mc / mf) * 100:.1f}% slower)")
    with open("/proc/loadavg") as f:
        print("loadavg:", f.read().strip())


if __name__ == "__main__":
    main()
