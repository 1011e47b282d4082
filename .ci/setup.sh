#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root or with sudo), then configures and builds t2c.
#   bash .ci/setup.sh [BUILD_DIR] [extra meson options...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true

packages=(meson ninja-build pkg-config gcc libc6-dev libopenblas-dev libzstd-dev libcmocka-dev libstb-dev
          libjson-c-dev nettle-dev zlib1g-dev python3-numpy python3-pil python3-torch python3-torchvision python3-onnx
          python3-flatbuffers dataset-fashion-mnist iverilog verilator)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$@" >&2
fi
ninja -C "$build" >&2
