#!/usr/bin/env bash
# Installs every Debian package runbox needs (build, toolchains, tests, bench), then builds
# runbox and its web page (npm packages from the registry, pinned by web/package-lock.json).
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(
  # build
  build-essential meson ninja-build pkg-config clang clang-format libclang-rt-14-dev
  libseccomp-dev libjansson-dev libcmocka-dev
  # the service: SQLite, argon2id/HMAC, webhook client, the event-driven HTTP server and
  # WebSocket frames (SHA-1 for the handshake from GnuTLS)
  libsqlite3-dev sqlite3 libsodium-dev libcurl4-openssl-dev libmicrohttpd-dev libwslay-dev
  libgnutls28-dev
  # the cluster's shared store and queue: libpq, and a PostgreSQL server the tests start
  libpq-dev postgresql
  # test reports (JUnit XML) and the MIME types of files programs write
  libxml2-dev libmagic-dev
  # images: docker save archives and OCI layouts (runbox image import), Debian roots
  # (runbox image build), and the Docker runner's engine (tests start dockerd by hand)
  libarchive-dev debootstrap docker.io
  # language toolchains the boxes run (all under /usr, which the box sees read-only)
  python3 nodejs node-typescript gcc g++ rustc-web golang-go default-jdk-headless bash ruby php-cli
  # test frameworks and the data-science Python the boxes offer (Jest comes from npm, below)
  python3-pytest junit5 ruby-minitest phpunit python3-numpy python3-pandas python3-matplotlib
  # in-browser runs: C and C++ to wasm32-wasi (Rust's and Go's compile on the trixie image)
  lld-14 wasi-libc libclang-rt-14-dev-wasm32 libc++-14-dev-wasm32 libc++abi-14-dev-wasm32
  # the page's end-to-end tests drive Debian's chromium
  chromium
  # tests and bench (python3-yaml: deploy/check.sh reads the Kubernetes manifests; strace:
  # 21-box-cost and 11-lean-start count a start's syscalls and files)
  iproute2 procps psmisc util-linux passwd jq bubblewrap hyperfine curl python3-websockets strace
  python3-yaml
  # busybox-like images (18-image-runs): a static busybox to put in one
  busybox-static
)
if [ "$(id -u)" != 0 ]; then
  echo "setup: run as root (apt-get install and the sandbox need it)" >&2
  exit 1
fi
missing=()
# npm builds the page: Debian's npm, unless a Node.js that brings its own npm is installed.
command -v npm >/dev/null || pkgs+=(npm)
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Jest for JavaScript's test mode (languages/javascript.json, framework "jest"): npm's, not
# Debian's (node-jest cannot be installed next to a current Node.js), pinned by
# languages/support/jest/package-lock.json, into /usr/local/lib/runbox/jest, which the box sees
# read-only. Installed again when the lock file changes; install scripts are not run (only
# @parcel/watcher has one, for watch mode).
jest=/usr/local/lib/runbox/jest
if ! cmp -s languages/support/jest/package-lock.json "$jest/package-lock.json" ||
  [ ! -e "$jest/node_modules/jest/package.json" ]; then
  rm -rf "$jest.new"
  mkdir -p "$jest.new"
  cp languages/support/jest/package.json languages/support/jest/package-lock.json "$jest.new/"
  (cd "$jest.new" && npm ci --no-audit --no-fund --ignore-scripts >/dev/null)
  rm -rf "$jest"
  mv "$jest.new" "$jest"
  echo "setup: installed Jest into $jest"
fi
[ "${1:-}" = --no-build ] && exit 0
if [ ! -d build ]; then
  meson setup build --buildtype=debugoptimized >/dev/null
fi
ninja -C build >/dev/null
echo "setup: built build/runbox"
# The default languages that run on an image: Go 1.24 and Python 3.13 (and Rust's browser
# compile) on Debian 13 (trixie), an image built once (about 5 minutes, 1.4 GB) and kept in
# /var/lib/runbox/images; the other defaults came with the packages above. The rest:
# build/runbox languages install --all (scripts/test.sh does).
build/runbox languages install go python@3.13 >/dev/null
echo "setup: installed the default languages (build/runbox languages)"
bash web/build.sh >/dev/null
echo "setup: built the web page (web/dist)"
