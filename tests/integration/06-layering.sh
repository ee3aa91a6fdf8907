#!/usr/bin/env bash
# The layers below the HTTP server know nothing of it: no file of src/sched, src/job,
# src/sandbox, src/store or src/cluster includes a header of src/server (its limits, its
# types). What they need from the server (a bound, a callback) comes in through their own
# config structs. Deterministic: a grep over the sources.
. "$(dirname "$0")/../lib.sh"

cd "$ROOT"
for dir in sched job sandbox store cluster; do
    if [ ! -d "src/$dir" ]; then
        tap 1 "src/$dir includes nothing from src/server" || diag "src/$dir is missing"
        continue
    fi
    # "server/x.h", "../server/x.h", "src/server/x.h", <server/x.h>, with any spacing.
    hits=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([.][.]/)*(src/)?server/' \
        --include='*.c' --include='*.h' --include='*.def' "src/$dir")
    [ -z "$hits" ]
    tap $? "src/$dir includes nothing from src/server" || diag "$hits"
done
done_testing
