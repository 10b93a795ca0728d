#!/bin/bash
# Heap allocations per generated token in `studio serve`, measured with a malloc-counting
# LD_PRELOAD library (malloc_counter.c; SIGUSR2 prints the count so far): two warm-up requests,
# then one of 8 tokens and one of 72 with the same prompt; the difference over 64 tokens is the
# per-token cost of the whole path (HTTP, backend, scheduler, model).
#
#   Benchmarks/alloc/server_allocs.sh .build/release/studio [stream]
set -euo pipefail
BIN=${1:?usage: server_allocs.sh STUDIO_BINARY [stream]}
STREAM=false; [ "${2:-}" = stream ] && STREAM=true
MODEL=${MODEL:-qwen2.5-coder:0.5b}; PORT=${PORT:-8097}
DIR=$(mktemp -d); trap 'rm -rf "$DIR"' EXIT
gcc -O2 -shared -fPIC -o "$DIR/mc.so" "$(dirname "$0")/malloc_counter.c" -ldl
LD_PRELOAD="$DIR/mc.so" "$BIN" serve --model "$MODEL" --port "$PORT" --host 127.0.0.1 > "$DIR/serve.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do curl -sf "127.0.0.1:$PORT/health" > /dev/null && break; sleep 0.2; done
request() {
  curl -sf "127.0.0.1:$PORT/v1/chat/completions" -H 'Content-Type: application/json' -d "{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"Count from 1 to 300, writing each number in words on its own line.\"}],\"max_tokens\":$1,\"temperature\":0,\"stream\":$STREAM}" > "$DIR/out.txt"
  if [ "$STREAM" = false ]; then grep -o '"completion_tokens":[0-9]*' "$DIR/out.txt"; else echo "chunks: $(grep -c '^data: {' "$DIR/out.txt")"; fi
}
count() { kill -USR2 "$PID"; sleep 0.3; grep MALLOC_COUNT "$DIR/serve.log" | tail -1 | awk '{print $2}'; }
request 8 > /dev/null; request 8 > /dev/null
c0=$(count); short=$(request 8); c1=$(count); long=$(request 72); c2=$(count)
echo "8 tokens ($short): $((c1 - c0)) mallocs; 72 tokens ($long): $((c2 - c1)) mallocs"
echo "per extra token: $(python3 -c "print(round((($c2 - $c1) - ($c1 - $c0)) / 64, 2))")"
