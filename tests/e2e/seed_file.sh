#!/bin/sh
# examples/seed_memory.vms overwrites the start of testdatei.txt through a MAP_SHARED mapping,
# as the lecture's mmap-beispiel.c does: the file in the sandbox must show it afterwards
# (written back when the run ends), byte for byte as on the kernel.
set -eu
vmspace=$1
script=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/root"
"$vmspace" run --root "$dir/root" "$script" >/dev/null 2>"$dir/err" || {
  cat "$dir/err" >&2
  exit 1
}
printf ' ein kleiner Versuch --- \n\000ei.\nSie enthaelt nur zwei Zeilen Text.\n' >"$dir/expected"
cmp "$dir/root/testdatei.txt" "$dir/expected"
echo "testdatei.txt shows the stores"
