#!/usr/bin/env bash
# The whole test suite, as CI runs it: one optimised build (inference in a debug build is far
# too slow), the real test models pulled through `studio pull` into $STUDIO_HOME, every Swift
# test target, then the Python tests that drive a real `studio serve` with the openai SDK, then
# the browser tests of the web workbench (Selenium + headless Chromium).
# Extra arguments go to `swift test` (e.g. --filter TokenizersTests) and skip the Python part.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --build-tests -Xswiftc -enable-testing
studio=.build/release/studio
for model in qwen2.5-coder:0.5b smollm2:135m gemma3:270m qwen2.5-coder:1.5b minilm:l6; do
  "$studio" pull "$model"
done
swift test -c release --skip-build "$@"
if [ $# -eq 0 ]; then
  if ! python3 -c "import openai, pytest, selenium, jsonschema" 2>/dev/null; then
    echo "The server and browser tests need the openai SDK, pytest, selenium and jsonschema: python3 -m pip install -r Tests/GatewayTests/python/requirements.txt" >&2
    exit 1
  fi
  STUDIO_BIN="$PWD/$studio" python3 -m pytest Tests/GatewayTests/python
  # The web workbench in headless Chromium (a separate run: each folder has its own conftest).
  STUDIO_BIN="$PWD/$studio" python3 -m pytest Tests/GatewayTests/browser
fi
