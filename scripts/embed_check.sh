#!/bin/sh
# Installs vmspace from a build tree into a fresh prefix and builds the out-of-tree consumers
# in examples/embed against it: a C++ program through find_package(vmspace) and a C program
# through pkg-config; both must run and give Linux's answers.
# Usage: embed_check.sh BUILD_DIR WORK_DIR [FLAGS]
# FLAGS: compiler and linker flags for the consumers (the sanitizer build's own, so that the
# instrumented library meets an instrumented program).
set -eu
FLAGS=${3:-}
B=$(realpath "$1")
W=$2
SRC=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$W" && mkdir -p "$W"
W=$(realpath "$W")
cmake --install "$B" --prefix "$W/prefix" > "$W/install.log"
test -f "$W/prefix/include/vmspace/vmspace.h"
ls "$W"/prefix/lib*/libvmspace.so.* > /dev/null
# C++: find_package, vmspace::vmspace
cmake -S "$SRC/examples/embed" -B "$W/cxx" -G Ninja -DCMAKE_PREFIX_PATH="$W/prefix" \
  -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS="$FLAGS" > "$W/cxx.log"
cmake --build "$W/cxx" >> "$W/cxx.log"
LD_LIBRARY_PATH=$(dirname "$(ls "$W"/prefix/lib*/libvmspace.so | head -1)") "$W/cxx/embed" > "$W/cxx.out"
grep -q '^7ffff7ff4000-7ffff7ff5000 rw-p' "$W/cxx.out"
# C: pkg-config, C11, warnings as errors
PC=$(dirname "$(ls "$W"/prefix/lib*/pkgconfig/vmspace.pc)")
CFLAGS=$(PKG_CONFIG_PATH="$PC" pkg-config --cflags vmspace)
LIBS=$(PKG_CONFIG_PATH="$PC" pkg-config --libs vmspace)
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror -pedantic $FLAGS $CFLAGS -o "$W/embed_c" "$SRC/examples/embed/embed.c" $LIBS
LD_LIBRARY_PATH=$(dirname "$(ls "$W"/prefix/lib*/libvmspace.so | head -1)") "$W/embed_c" > "$W/c.out"
grep -q '^7ffff7ff5000-7ffff7ff6000 r--p' "$W/c.out"
echo "embed: the C++ and C consumers built against the installed package and ran"
