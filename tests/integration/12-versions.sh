#!/usr/bin/env bash
# Versions of a language (BASE@VARIANT files): python@3.13 and go (1.24) on the trixie image,
# go@1.19 and rust (rustc-web) on the host, c@clang and cpp@clang; each by name in the CLI, in
# /api/v1 (which says base and variant), by Piston's version selector and by its Judge0 ids.
# Each program uses what only its version has (range over an int, testing.B.Loop,
# is_multiple_of, sys.version_info), so running on another version fails the check.
# `runbox languages install` refuses an unknown language and a non-root caller, and
# `runbox languages` says how to install what is missing.
# A variant whose toolchain is not installed (no trixie image: `runbox languages install --all`,
# as scripts/test.sh does) is skipped (a failure under SBX_MUST_WORK=1).
. "$(dirname "$0")/../lib.sh"
need_tools "versions" jq curl setpriv

"$RUNBOX" languages --json >"$TMP/langs.json" 2>"$TMP/e"
tap $? "runbox languages --json" || diag "$(cat "$TMP/e")"
installed() { jq -e --arg n "$1" '.[] | select(.name == $n) | .installed' "$TMP/langs.json" >/dev/null; }
version_of() { jq -r --arg n "$1" '.[] | select(.name == $n) | .version' "$TMP/langs.json"; }

# ---- the programs: each needs its version ----
mkdir -p "$TMP/p"
cat >"$TMP/p/py313.py" <<'EOF'
import sys
assert sys.version_info[:2] == (3, 13), sys.version
print("python", "%d.%d" % sys.version_info[:2])
EOF
cat >"$TMP/p/go124.go" <<'EOF'
package main

import (
	"fmt"
	"runtime"
	"testing"
)

func main() {
	sum := 0
	for i := range 3 { // Go 1.22: range over an int
		sum += i
	}
	r := testing.Benchmark(func(b *testing.B) {
		for b.Loop() { // Go 1.24: testing.B.Loop
			sum++
		}
	})
	fmt.Println("go", runtime.Version()[:6], sum >= 3, r.N > 0)
}
EOF
cat >"$TMP/p/go119.go" <<'EOF'
package main

import (
	"fmt"
	"runtime"
)

func main() { fmt.Println("go", runtime.Version()) }
EOF
cat >"$TMP/p/rust.rs" <<'EOF'
fn main() {
    // u32::is_multiple_of: Rust 1.87
    println!("rust {}", 12u32.is_multiple_of(4));
}
EOF
cat >"$TMP/p/clang.c" <<'EOF'
#include <stdio.h>
int main(void) {
#if defined(__clang__)
    printf("clang %d\n", __clang_major__);
#else
    printf("not clang\n");
#endif
    return 0;
}
EOF
cat >"$TMP/p/clang.cpp" <<'EOF'
#include <iostream>
int main() {
#if defined(__clang__)
    std::cout << "clang++ " << __clang_major__ << "\n";
#else
    std::cout << "not clang\n";
#endif
}
EOF
# CASES: variant, program, expected output (an ERE over the whole output).
CASES=(
    "python@3.13|py313.py|^python 3\.13$"
    "go|go124.go|^go go1\.24 true true$"
    "go@1.19|go119.go|^go go1\.19"
    "rust|rust.rs|^rust true$"
    "c@clang|clang.c|^clang [0-9]+$"
    "cpp@clang|clang.cpp|^clang\+\+ [0-9]+$"
)

# ---- the CLI: --lang NAME ----
for c in "${CASES[@]}"; do
    IFS='|' read -r lang prog want <<<"$c"
    if ! installed "$lang"; then
        skip "cli: $lang runs by name" "the $lang toolchain is not installed (runbox languages install $lang)"
        continue
    fi
    rb_run "$TMP/o.json" --lang "$lang" "$TMP/p/$prog"
    jq -e --arg w "$want" --arg l "$lang" \
        '.status == "success" and .language == $l and (.output | rtrimstr("\n") | test($w))' \
        "$TMP/o.json" >/dev/null
    tap $? "cli: $lang runs by name ($(version_of "$lang"))" || diag "$(head -c 800 "$TMP/o.json")"
done
# Go 1.24's program is a compile error on Go 1.19: the version really differs.
if installed go@1.19; then
    rb_run "$TMP/o.json" --lang go@1.19 "$TMP/p/go124.go"
    jq -e '.status == "compile_error"' "$TMP/o.json" >/dev/null
    tap $? "cli: go@1.19 refuses Go 1.24's range over an int and b.Loop" || diag "$(head -c 600 "$TMP/o.json")"
fi
# A file's extension names the default, never a variant.
rb_run "$TMP/o.json" "$TMP/p/clang.c"
jq -e '.language == "c" and .output == "not clang\n"' "$TMP/o.json" >/dev/null
tap $? "cli: a .c file runs as c (GCC), the default" || diag "$(head -c 600 "$TMP/o.json")"
"$RUNBOX" run --lang python@9.99 "$TMP/p/py313.py" >/dev/null 2>"$TMP/e" </dev/null
[ $? = 2 ] && grep -q "unknown language 'python@9.99'" "$TMP/e"
tap $? "cli: an unknown version is an unknown language" || diag "$(cat "$TMP/e")"

# ---- runbox languages: installed or not, and how to install ----
jq -e 'all(.[]; (.packages | type == "array") and (.installed or (.install | test("^runbox languages install "))))' \
    "$TMP/langs.json" >/dev/null
tap $? "languages --json: packages, and the install command of what is not installed" ||
    diag "$(jq -c '.[] | {name, installed, packages, install}' "$TMP/langs.json")"
jq -e '(.[] | select(.name == "python@3.13") | .base == "python" and .variant == "3.13")
       and (.[] | select(.name == "python") | .base == "python" and .variant == null)' \
    "$TMP/langs.json" >/dev/null
tap $? "languages --json: base and variant"

# ---- runbox languages install: refusals (no apt, no image build happens) ----
"$RUNBOX" languages install no-such-language >"$TMP/o" 2>"$TMP/e" </dev/null
[ $? = 2 ] && grep -q "unknown language 'no-such-language'" "$TMP/e"
tap $? "languages install: an unknown language is refused" || diag "$(cat "$TMP/e")"
"$RUNBOX" languages install >"$TMP/o" 2>"$TMP/e" </dev/null
[ $? = 2 ]
tap $? "languages install: no name and no --all is a usage error"
chmod 755 "$TMP"
setpriv --reuid=65534 --regid=65534 --clear-groups "$RUNBOX" languages install python \
    >"$TMP/o" 2>"$TMP/e" </dev/null
[ $? = 1 ] && grep -q "needs root" "$TMP/e"
tap $? "languages install: not root, a clear error" || diag "$(cat "$TMP/e")"
"$RUNBOX" languages install --dry-run python@3.13 rust >"$TMP/o" 2>"$TMP/e" </dev/null
grep -q '^apt-get install -y --no-install-recommends rustc-web$' "$TMP/o" &&
    grep -q 'runbox image build --suite trixie .*python3.13.*' "$TMP/o" ||
    grep -q "image 'trixie' has its languages' packages already" "$TMP/o"
tap $? "languages install --dry-run: apt for the host, the trixie image for the rest" ||
    diag "$(cat "$TMP/o" "$TMP/e")"

# ---- the server: /api/v1, Piston, Judge0 ----
DATA=$TMP/data
"$RUNBOX" user add admin --admin --password-stdin --data "$DATA" <<<'password123' >/dev/null 2>"$TMP/e"
tap $? "an admin user" || diag "$(cat "$TMP/e")"
srv_start_or_end "the server starts" "$DATA" --workers 2
SRV_TOKEN=$(srv_login admin password123)
KEY=$(curl -sS -H "Authorization: Bearer $SRV_TOKEN" -H 'Content-Type: application/json' \
    -d '{"user_id": 1, "name": "judge0"}' "$SRV_URL/api/v1/keys" | jq -r .key)

api GET /api/v1/code/languages
api_check "/api/v1/code/languages: base and variant of each" 200 \
    '(.languages[] | select(.name == "go@1.19") | .base == "go" and .variant == "1.19")
     and (.languages[] | select(.name == "go") | .base == "go" and .variant == null)
     and all(.languages[]; .base | type == "string")'
cp "$R" "$TMP/api-langs.json"

# piston_version LANG: the Piston version /api/v2/runtimes lists for runbox's language LANG.
for c in "${CASES[@]}"; do
    IFS='|' read -r lang prog want <<<"$c"
    if ! jq -e --arg n "$lang" '.languages[] | select(.name == $n) | .installed' "$TMP/api-langs.json" >/dev/null; then
        skip "api: $lang" "not installed"
        continue
    fi
    api_json POST /api/v1/code/execute "$(jq -nc --arg c "$(cat "$TMP/p/$prog")" --arg l "$lang" '{code: $c, language: $l}')"
    [ "$CODE" = 200 ] && jq -e --arg w "$want" --arg l "$lang" \
        '.status == "success" and .language == $l and (.output | rtrimstr("\n") | test($w))' "$R" >/dev/null
    tap $? "api v1: $lang runs by name" || diag "HTTP $CODE: $(head -c 800 "$R")"
done

SRV_TOKEN_SAVE=$SRV_TOKEN
api GET /api/v2/runtimes
cp "$R" "$TMP/runtimes.json"
# pv PISTON_NAME MAJOR.MINOR: the listed version of that name starting so, or "".
pv() { jq -r --arg l "$1" --arg p "$2." '[.[] | select(.language == $l and (.version | startswith($p))) | .version][0] // ""' "$TMP/runtimes.json"; }
# pexec NAME VERSION PROGRAM: a Piston execute.
pexec() {
    api_json POST /api/v2/execute "$(jq -nc --arg l "$1" --arg v "$2" --arg c "$(cat "$TMP/p/$3")" \
        '{language: $l, version: $v, files: [{content: $c}]}')"
}
if installed python@3.13; then
    V=$(pv python 3.13)
    [ -n "$V" ] && [ -n "$(pv python 3.11)" ]
    tap $? "piston runtimes: python twice, 3.11 and 3.13" || diag "$(jq -c '.[] | select(.language == "python")' "$TMP/runtimes.json")"
    pexec python 3.13.x py313.py
    api_check "piston: python 3.13.x runs Python 3.13" 200 ".version == \"$V\" and .run.stdout == \"python 3.13\n\""
    pexec python "*" py313.py
    api_check "piston: python * is the default (3.11: the 3.13 check fails)" 200 \
        '.version != "'"$V"'" and .run.code != 0'
else
    skip "piston: python 3.13.x" "python@3.13 not installed"
fi
if installed go && installed go@1.19; then
    pexec go 1.24 go124.go
    api_check "piston: go 1.24 runs Go 1.24" 200 '.compile.code == 0 and (.run.stdout | startswith("go go1.24 true true"))'
    pexec go "1.19.x" go119.go
    api_check "piston: go 1.19.x runs Go 1.19" 200 '(.run.stdout | startswith("go go1.19"))'
    pexec go "1.19.x" go124.go
    api_check "piston: Go 1.24's program fails on go 1.19.x" 200 '.compile.code != 0'
    pexec go "*" go124.go
    api_check "piston: go * is the default, Go 1.24" 200 '(.run.stdout | startswith("go go1.24"))'
else
    skip "piston: go 1.24 and 1.19" "go or go@1.19 not installed"
fi
pexec c 99 clang.c
api_check "piston: a version no variant has is an error" 400 '.message | type == "string"'
if installed c@clang; then
    # Piston has no clang: c@clang is "clang" there, so that Piston's clients, which run the
    # greatest version of a name, still get gcc for "c".
    pexec clang "*" clang.c
    api_check "piston: clang runs clang" 200 '(.run.stdout | startswith("clang "))'
    pexec c "*" clang.c
    api_check "piston: c * is still gcc" 200 '(.run.stdout | startswith("clang ") | not)'
    pexec c "*" clang.c
    api_check "piston: c * is GCC, the default" 200 '.run.stdout == "not clang\n"'
fi

# Judge0: each variant's ids.
SRV_TOKEN=""
j0() { api_json POST "$1/submissions?wait=true" "$(jq -nc --arg s "$(cat "$TMP/p/$2")" --argjson l "$3" '{source_code: $s, language_id: $l}')" -H "X-Auth-Token: $KEY"; }
if installed c@clang; then
    j0 /judge0 clang.c 75
    api_check "judge0: id 75 (C, Clang) runs clang" 201 '(.stdout | startswith("clang ")) and .status.id == 3'
    j0 /judge0 clang.cpp 76
    api_check "judge0: id 76 (C++, Clang) runs clang++" 201 '(.stdout | startswith("clang++ ")) and .status.id == 3'
    j0 /judge0-extra clang.c 1
    api_check "judge0 extra: id 1 (C, Clang 10) runs clang" 201 '(.stdout | startswith("clang "))'
    j0 /judge0 clang.c 50
    api_check "judge0: id 50 (C, GCC) stays GCC" 201 '.stdout == "not clang\n"'
fi
api GET /judge0/languages -H "X-Auth-Token: $KEY"
api_check "judge0 languages: 75 and 76 listed with Judge0's names" 200 \
    'any(.[]; .id == 75 and .name == "C (Clang 7.0.1)") and any(.[]; .id == 76 and .name == "C++ (Clang 7.0.1)")'
SRV_TOKEN=$SRV_TOKEN_SAVE
srv_stop

done_testing
