#!/bin/sh
# Builds vmspace (optimised, with debug info) into build/release.
set -eu
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release
