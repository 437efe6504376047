#!/bin/sh
# Installs what vmspace needs to build and test, from Debian 12 packages. Idempotent.
set -eu
PKGS="g++ cmake ninja-build libgtest-dev libgmock-dev libbenchmark-dev strace gcc libc6-dev python3 libpython3.11-testsuite perl clang libclang-rt-14-dev pkg-config"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  # shellcheck disable=SC2086
  $SUDO apt-get install -y $missing
fi
echo "setup: all dependencies present"
