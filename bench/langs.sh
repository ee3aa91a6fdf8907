#!/usr/bin/env bash
# Start-up cost per language: `runbox run --no-cache hello.EXT` (compile stage, if any, and run
# stage, each in a fresh box; --lang, so a version runs as itself) against the same compile and run commands on the bare host
# (bench/langs.py writes them from the language file), paired and alternating by bench/timer.py.
# One row per installed language with tests/programs/LANG/hello.*: medians, the difference in
# ms and the ratio. Languages on an image have no bare host toolchain and show runbox alone.
#
#   bench/langs.sh [--n N] [LANG...]     (default N=5; all languages)
#
# Needs root and the built tree. Asserts nothing.
set -u -o pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNBOX=${RUNBOX_BUILD:-$ROOT/build}/runbox
PY=/usr/bin/python3
N=5
langs=()
while [ $# -gt 0 ]; do
    case $1 in
    --n) N=$2; shift 2 ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) langs+=("$1"); shift ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "bench/langs.sh: runbox needs root" >&2; exit 2; }
[ -x "$RUNBOX" ] || { echo "bench/langs.sh: build first (ninja -C build)" >&2; exit 2; }
TMP=$(mktemp -d /tmp/runbox-bench-langs.XXXXXX) || exit 2
trap 'rm -rf "$TMP"' EXIT
chmod 755 "$TMP"
RES=$TMP/results.tsv
: >"$RES"
[ ${#langs[@]} -gt 0 ] || mapfile -t langs < <("$RUNBOX" languages --json | jq -r '.[] | select(.installed) | .name')
printf '%-14s %-10s %10s %10s %10s %8s\n' LANGUAGE VERSION BARE_MS RUNBOX_MS DIFF_MS RATIO
for l in "${langs[@]}"; do
    prog=$(ls "$ROOT/tests/programs/$l"/[hH]ello.* 2>/dev/null | head -n1)
    file=$ROOT/languages/$l.json
    if [ -z "$prog" ] || [ ! -f "$file" ]; then
        printf '%-14s skipped: no tests/programs/%s/hello.* or language file\n' "$l" "$l"
        continue
    fi
    ver=$("$RUNBOX" languages --json | jq -r --arg l "$l" '.[] | select(.name == $l) | .version // "-"')
    cp "$prog" "$TMP/"
    p=$TMP/$(basename "$prog")
    chmod 644 "$p"
    why=$("$PY" "$ROOT/bench/langs.py" "$file" "$p" "$TMP/work-$l" "$TMP/bare-$l.sh")
    # One fresh work directory per bare run (the check run, the warm-up and N), made here.
    for ((i = 1; i <= N + 4; i++)); do
        mkdir -p "$TMP/work-$l-$i" && cp "$p" "$TMP/work-$l-$i/"
    done
    echo 1 >"$TMP/work-$l.next"
    before=$(wc -l <"$RES")
    if [ "$why" = ok ]; then
        "$PY" "$ROOT/bench/timer.py" paired --section "$l" --n "$N" --warmup 1 --expect "Hello, World!" \
            --out "$RES" bare "/bin/sh $TMP/bare-$l.sh" runbox "$RUNBOX run --no-cache --lang $l $p" >/dev/null
    else
        "$PY" "$ROOT/bench/timer.py" paired --section "$l" --n "$N" --warmup 1 --expect "Hello, World!" \
            --out "$RES" runbox "$RUNBOX run --no-cache --lang $l $p" >/dev/null
    fi
    # Rows: kind, section, name, runs, median ms, ... (timer.py's cmd_summary reads the same).
    "$PY" - "$RES" "$before" "$l" "$ver" <<'PYEOF'
import sys
path, before, lang, ver = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = [r.rstrip("\n").split("\t") for r in open(path).readlines()[before:]]
med = {}
for r in rows:
    med[r[2]] = r
def ms(r):
    return float(r[4])
if "runbox" not in med:
    print("%-14s %-10s failed: %s" % (lang, ver[:10], " ".join(rows[-1]) if rows else "no result"))
elif "bare" in med:
    b, x = ms(med["bare"]), ms(med["runbox"])
    print("%-14s %-10s %10.1f %10.1f %+10.1f %7.2fx" % (lang, ver[:10], b, x, x - b, x / b))
else:
    print("%-14s %-10s %10s %10.1f %10s %8s" % (lang, ver[:10], "-", ms(med["runbox"]), "-", "-"))
PYEOF
done
