#!/usr/bin/env bash
# Tokenizer encoding speed, one core: `studio tokenize MODEL --file F` on a ~1 MB English text
# minus the same command on a one-word file (model and tokenizer loading), as MB/s.
# Usage: Benchmarks/tokenize/tokenize_speed.sh [STUDIO_BIN] [TEXT] [MODEL...]
# TEXT defaults to the Debian copyright files of this machine (varied English, cut at 1.1 MB).
set -euo pipefail
bin=${1:-.build/release/studio}
text=${2:-}
shift $(( $# > 2 ? 2 : $# ))
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(qwen2.5-coder:0.5b smollm2:135m gemma3:270m)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$text" ]; then
  text=$work/text.txt
  # head stops reading early, so the writers end on SIGPIPE: not a failure here.
  (set +o pipefail; find /usr/share/doc -name copyright -size -60k -print0 | sort -z | xargs -0 cat 2>/dev/null | head -c 1100000 > "$text")
fi
echo hello > "$work/one.txt"
bytes=$(stat -c %s "$text")
seconds() { local s e; s=$(date +%s.%N); taskset -c 0 "$bin" tokenize "$1" --file "$2" --json > /dev/null; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
for m in "${models[@]}"; do
  best=""
  for _ in 1 2 3; do
    t=$(echo "$(seconds "$m" "$text") - $(seconds "$m" "$work/one.txt")" | bc -l)
    if [ -z "$best" ] || (( $(echo "$t < $best" | bc -l) )); then best=$t; fi
  done
  printf '%s: %d bytes, %.3f s, %.1f MB/s (best of 3)\n' "$m" "$bytes" "$best" "$(echo "$bytes / $best / 1000000" | bc -l)"
done
