#!/bin/sh
# Regenerates the default model files of this folder (see README.md). Uses Debian's /usr/bin/python3
# (python3-torch, python3-torchvision, python3-pil) and dataset-fashion-mnist. One thread: about 4 minutes
# to train (skipped while fmnist_resnet_float.pt exists), under a minute per export.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1

sd="$here/fmnist_resnet_float.pt"
[ -f "$sd" ] || "$py" "$root/formats/python/train_fmnist.py" --epochs 8 --seed 0 -o "$sd"

"$root/formats/t2c-export" --arch fmnist --weights "$sd" --calib fmnist --calib-count 1024 --seed 0 \
    --wbits 8 --abits 8 --act-observer minmax --name fmnist-resnet-int8 \
    -o "$here/fmnist_resnet_int8.t2c" --eval fmnist-test ${EVAL_INT:+--eval-int} \
    ${REPORT_DIR:+--report "$REPORT_DIR/int8.json"}

"$root/formats/t2c-export" --arch fmnist --weights "$sd" --calib fmnist --calib-count 1024 --seed 0 \
    --wbits 4 --abits 4 --first-last-8bit --act-observer mse --output-observer mse --weight-observer mse --name fmnist-resnet-int4 \
    -o "$here/fmnist_resnet_int4.t2c" --eval fmnist-test ${EVAL_INT:+--eval-int} \
    ${REPORT_DIR:+--report "$REPORT_DIR/int4.json"}

"$py" "$root/formats/python/train_fmnist.py" --write-samples "$here/samples"
