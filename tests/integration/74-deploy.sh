#!/usr/bin/env bash
# The deployment files (deploy/systemd, deploy/k8s, Dockerfile, deploy/docker/entrypoint.sh):
# deploy/check.sh's static checks, against this build's `runbox serve --help`. Its TAP lines
# are this script's.
source "$(dirname "$0")/../lib.sh"
need_tools 74-deploy python3
RUNBOX="$RUNBOX" bash "$ROOT/deploy/check.sh"
exit $?
