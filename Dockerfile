# runbox in a container: the service, its browser page, the language toolchains its boxes run.
#
#   docker build -t runbox .
#   docker run -d --name runbox --privileged --cgroupns=private -p 8080:8080 \
#       -v runbox-data:/var/lib/runbox runbox
#   docker exec -it runbox runbox doctor
#   docker exec -i runbox runbox user add alice --admin --password-stdin <<<'a long password'
#
# The container must be privileged (or have the equivalent, see deploy/k8s/worker.yaml): runbox
# makes its own sandbox for every run (namespaces, mounts, pivot_root, cgroups, seccomp), which
# needs root with CAP_SYS_ADMIN and friends, a writable cgroup hierarchy, and no seccomp or
# AppArmor profile of the engine's in the way (runbox installs its own seccomp filter in every
# box). --cgroupns=private gives the container its own cgroup subtree as /sys/fs/cgroup, which
# deploy/docker/entrypoint.sh prepares for runbox (cgroup v2's "no internal processes" rule).
# Cluster roles: add `--db postgresql://...` (or -e RUNBOX_DB=...) and `--role api|worker`
# to the command; docs/operations.md.
#
# Boxes see this image's /usr read-only: the toolchains below are what runs can use.

ARG DEBIAN_IMAGE=debian:bookworm-slim

######## build: the binary (meson) and the page (npm + esbuild)
FROM ${DEBIAN_IMAGE} AS build
ENV DEBIAN_FRONTEND=noninteractive
# scripts/setup.sh's "build" and "service" lines, less what only the tests use, plus: nodejs and
# npm for web/build.sh, and golang-1.19-src for Go's wasm_exec.js, which web/build.mjs copies
# into the page (languages/go.json "browser.support"; the same version as the runtime's go).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential meson ninja-build pkg-config python3 ca-certificates \
      libseccomp-dev libjansson-dev libcmocka-dev \
      libsqlite3-dev libsodium-dev libcurl4-openssl-dev libmicrohttpd-dev libwslay-dev libgnutls28-dev libpq-dev \
      libxml2-dev libmagic-dev libarchive-dev \
      nodejs npm golang-1.19-src \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The page's npm packages first (pinned by package-lock.json): a layer that survives code edits.
COPY web/package.json web/package-lock.json web/
RUN cd web && npm ci --no-audit --no-fund --loglevel=error
COPY . .
# Only what the image ships: runbox, runbox-service (the service's commands, which runbox
# execs) and runbox-docker-init (the Docker runner's static PID 1).
RUN meson setup build --buildtype=debugoptimized --prefix=/usr \
 && ninja -C build runbox runbox-service runbox-docker-init \
 && install -D -s -m 0755 build/runbox /out/usr/bin/runbox \
 && install -D -s -m 0755 build/runbox-service /out/usr/libexec/runbox/runbox-service \
 && install -D -s -m 0755 build/runbox-docker-init /out/usr/libexec/runbox/runbox-docker-init \
 && bash web/build.sh \
 && mkdir -p /out/usr/share/runbox \
 && cp -r web/dist /out/usr/share/runbox/web \
 && cp -r languages /out/usr/share/runbox/languages \
 && mkdir -p /out/usr/local/lib/runbox/jest \
 && cp languages/support/jest/package.json languages/support/jest/package-lock.json \
      /out/usr/local/lib/runbox/jest/ \
 && cd /out/usr/local/lib/runbox/jest && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error

######## runtime
FROM ${DEBIAN_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
# tini: PID 1 (reaps, forwards SIGTERM to runbox, which then drains: docs/operations.md).
# The libraries runbox links. The toolchains and test frameworks of scripts/setup.sh, which the
# boxes run from this /usr: python3 (+ pytest, numpy, pandas, matplotlib), nodejs, TypeScript,
# gcc/g++, rustc (rustc-web), go, OpenJDK 17 (+ JUnit 5), bash, Ruby (+ minitest), PHP (+ PHPUnit),
# and Jest from npm (the build stage's npm ci of languages/support/jest); and the wasm32-wasi
# toolchains of `POST /api/v1/code/compile?target=wasm` for C and C++ (clang, lld, wasi-libc,
# libc++). The other languages: `runbox languages install NAME` in a derived image; Go 1.24,
# Python 3.13 and Rust's and Go's browser compiles need the trixie image, which this one lacks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tini ca-certificates \
      libjansson4 libsqlite3-0 libsodium23 libcurl4 libmicrohttpd12 libwslay1 libpq5 libxml2 libmagic1 \
      libarchive13 \
      python3 nodejs node-typescript gcc g++ libc6-dev rustc-web golang-go default-jdk-headless bash \
      ruby php-cli \
      python3-pytest junit5 ruby-minitest phpunit python3-numpy python3-pandas python3-matplotlib \
      clang lld-14 wasi-libc libclang-rt-14-dev-wasm32 libc++-14-dev-wasm32 \
      libc++abi-14-dev-wasm32 \
 && rm -rf /var/lib/apt/lists/*
# /usr/bin/runbox, /usr/libexec/runbox/, and /usr/share/runbox/{web,languages}: the places
# runbox looks by default, so no --web or --languages is needed.
COPY --from=build /out/ /
COPY deploy/docker/entrypoint.sh /usr/local/bin/runbox-entrypoint
RUN chmod 0755 /usr/local/bin/runbox-entrypoint && mkdir -p /var/lib/runbox
# The SQLite database (single node) and the compile cache; PostgreSQL holds the rest in a
# cluster.
VOLUME /var/lib/runbox
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/runbox-entrypoint"]
CMD ["runbox", "serve", "--listen", "0.0.0.0:8080", "--data", "/var/lib/runbox"]
