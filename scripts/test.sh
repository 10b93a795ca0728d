#!/usr/bin/env bash
# The whole test suite, as CI runs it: one optimised build (inference in a debug build is far
# too slow), the real test models pulled through `studio pull` into $STUDIO_HOME, then every
# test target. Extra arguments go to `swift test` (e.g. --filter TokenizersTests).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --build-tests -Xswiftc -enable-testing
studio=.build/release/studio
for model in qwen2.5-coder:0.5b smollm2:135m gemma3:270m qwen2.5-coder:1.5b minilm:l6; do
  "$studio" pull "$model"
done
swift test -c release --skip-build "$@"
