#!/bin/sh
# Accuracy of the default models with the C engine on all 10,000 Fashion-MNIST test images.
#   bench/fmnist_accuracy.sh [BUILD_DIR]      (default: build)
# Writes the test set as PNGs to ${FMNIST_DIR:-/tmp/t2c-fmnist-test} once, then runs t2c-run on it.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
dir=${FMNIST_DIR:-/tmp/t2c-fmnist-test}
if [ "$(ls "$dir" 2>/dev/null | wc -l)" -ne 10000 ]; then
    /usr/bin/python3 "$root/formats/python/train_fmnist.py" --write-test-set "$dir"
fi
for m in fmnist_resnet_int8 fmnist_resnet_int4; do
    echo "== $m"
    start=$(date +%s.%N)
    "$build/engine/tools/t2c-run" --quiet -j "$(nproc)" -b 32 "$root/engine/default_model/$m.t2c" "$dir" | tail -n 3
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "wall time: %.1f s\n", b - a }'
done
