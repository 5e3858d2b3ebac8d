#!/usr/bin/env bash
# Install from Debian's packages whatever the build, the tests and the local
# stack need and is missing; skip what is present. --check only reports.
set -euo pipefail
PKGS=(gcc make pkg-config curl ca-certificates
      libcurl4-openssl-dev libssl-dev libhiredis-dev libcjson-dev libpq-dev libmicrohttpd-dev libuv1-dev node-llhttp libcmocka-dev
      etcd-server etcd-client redis-server postgresql openssl nginx-light stunnel4
      openjdk-17-jre-headless maven
      clang libclang-rt-14-dev clang-format
      python3-venv fortunes fortunes-zh gnuplot-nox wrk
      iproute2 nftables libnetfilter-queue-dev
      chromium chromium-driver prometheus
      valgrind linux-perf)
missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
# Java/Maven may come from outside Debian on some machines; accept those.
if command -v java >/dev/null && java -version 2>&1 | grep -q '"17'; then
    missing=("${missing[@]/openjdk-17-jre-headless}")
fi
command -v mvn >/dev/null && missing=("${missing[@]/maven}")
read -r -a missing <<< "${missing[*]:-}"
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    echo "missing packages: ${missing[*]}"; exit 1
fi
echo "deps: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
