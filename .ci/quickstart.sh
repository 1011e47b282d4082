#!/usr/bin/env bash
# README's Quick start.
#   bash .ci/quickstart.sh run   # set up, build, classify the bundled samples with the embedded default model
#   bash .ci/quickstart.sh test  # set up, build, run the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  run)  bash .ci/setup.sh build && ./build/engine/tools/t2c-run ;;
  test) bash .ci/setup.sh build && meson test -C build --print-errorlogs ;;
  *) echo "usage: bash .ci/quickstart.sh run|test" >&2; exit 2 ;;
esac
