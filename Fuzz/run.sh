#!/usr/bin/env bash
# Fuzzes the GGUF reader with libFuzzer (swiftc -sanitize=fuzzer,address).
# Usage: Fuzz/run.sh [seconds]   (default 60). Prints libFuzzer's stats; crashes land in Fuzz/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
mkdir -p Fuzz/out Fuzz/corpus-run
cp -n Fuzz/seeds/* Fuzz/corpus-run/ 2>/dev/null || true
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name ModelFormats \
  Sources/ModelFormats/*.swift Fuzz/GGUFFuzzTarget.swift -o Fuzz/out/gguf-fuzz
exec Fuzz/out/gguf-fuzz -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
  -artifact_prefix=Fuzz/out/ -print_final_stats=1 Fuzz/corpus-run
