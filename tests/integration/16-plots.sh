#!/usr/bin/env bash
# matplotlib in a box: plt.show() saves the open figures into /box/out/ (languages/support/
# runbox_mpl.py, chosen by MPLBACKEND when that support file is there), which `--out` (and the
# API's files) return.
. "$(dirname "$0")/../lib.sh"

f=$TMP/r.json
cat >"$TMP/plot.py" <<'PY'
import matplotlib.pyplot as plt
plt.plot([1, 2, 3], [1, 4, 9])
plt.show()
plt.figure()
plt.bar(["a", "b"], [3, 5])
plt.figure()
plt.show()
plt.show()
print("shown")
PY
rb_run "$f" --out "$TMP/out" "$TMP/plot.py"
expect "a program calling plt.show() runs" "$f" status success
expect "its stdout is its own (no backend warning)" "$f" output "shown"
jq -e '.error == ""' "$f" >/dev/null
tap $? "no 'cannot show the figure' warning on stderr" || diag "$(jq -r .error "$f")"
ls "$TMP/out" 2>/dev/null | sort >"$TMP/names"
printf 'figure-1.png\nfigure-2.png\nfigure-3.png\n' | cmp -s - "$TMP/names"
tap $? "each show() saves the open figures, numbered across the run (a show() with none saves nothing)" ||
    diag "files: $(tr '\n' ' ' <"$TMP/names")"
ok=0
for p in "$TMP"/out/figure-*.png; do
    [ "$(head -c 8 "$p" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || ok=1
done
tap $ok "the figures are PNG images"

# A program choosing its backend keeps it: nothing is saved.
cat >"$TMP/own.py" <<'PY'
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
plt.plot([1, 2])
plt.show()
print(matplotlib.get_backend())
PY
rb_run "$f" --out "$TMP/out2" "$TMP/own.py"
expect "matplotlib.use() is honoured" "$f" output "agg"
[ -z "$(ls -A "$TMP/out2" 2>/dev/null)" ]
tap $? "with its own backend, show() saves nothing"

# The language's support files are in /box/.runbox, read-only to nobody's harm: a program
# without matplotlib does not import it.
cat >"$TMP/mods.py" <<'PY'
import sys
print("matplotlib" in sys.modules, sys.path[1])
PY
rb_run "$f" "$TMP/mods.py"
expect "a program without matplotlib does not import it" "$f" output "False /box/.runbox"

# A language directory without the support files still runs Python (Agg, no saved figures).
mkdir -p "$TMP/langs"
cp "$ROOT/languages/python.json" "$TMP/langs/"
printf '{"languages_dir": "%s"}\n' "$TMP/langs" >"$TMP/cfg.json"
"$RUNBOX" run --json --config "$TMP/cfg.json" --out "$TMP/out3" "$TMP/plot.py" >"$f" 2>"$f.err" </dev/null
expect "without its support files the language still runs" "$f" status success
[ -z "$(ls -A "$TMP/out3" 2>/dev/null)" ]
tap $? "without them, show() saves nothing"

done_testing
