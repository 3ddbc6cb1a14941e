#!/usr/bin/env bash
# Installs faultline's build and run dependencies from Debian's packages.
# Idempotent: packages already present are skipped, so re-running it is harmless.
set -euo pipefail

packages=(
  build-essential cmake ninja-build git
  g++ clang-14 libclang-rt-14-dev llvm-14 clang-format
  libboost1.81-dev libboost-program-options1.81-dev
  nlohmann-json3-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-matplotlib python3-jsonschema parallel procps iproute2
  chromium slurm-wlm munge golang-go hyperfine help2man bash-completion libfaketime faketime
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
# libboost1.81-dev conflicts with the default libboost-dev (1.74): remove the latter if present.
if dpkg-query -W -f='${Status}' libboost-dev 2>/dev/null | grep -q 'install ok installed'; then
  "${sudo_cmd[@]}" apt-get remove -y -qq libboost-dev
fi
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
