#!/usr/bin/env bash
# Judge mode for C and C++ (docs/judge.md, "C and C++"): the stubs generated from the
# exercise's interface (src/job/stubs_c.c) call the student's code in the other box. An honest
# solution passes; a wrong one fails with "expected ..., got ..."; the C forgeries (a
# student-defined rb_fail, a constructor that rewrites report.jsonl and exits 0) come back not
# passed; the hidden test file can be neither #included nor opened from the student's code; a
# test whose call never returns is reported and the tests after it still pass; C++ classes work.
. "$(dirname "$0")/../lib.sh"

need_tools 81-judge-c gcc g++ jq

C=$TMP/course-c
mkdir -p "$C/exercises/adder/tests"
cat >"$C/course.json" <<'EOF'
{"name": "C judge", "language": "c", "limits": {"time": 5, "wall": 20, "memory_mb": 256},
 "runner": {"type": "sandbox", "framework": "runbox-test"}}
EOF
echo "# Adder" >"$C/exercises/adder/README.md"
cat >"$C/exercises/adder/exercise.json" <<'EOF'
{"interface": {"functions": [
  {"name": "add", "params": [["a", "int"], ["b", "int"]], "returns": "int"},
  {"name": "greet", "params": [["name", "string"]], "returns": "string"}]}}
EOF
cat >"$C/exercises/adder/tests/test_adder.c" <<'EOF'
#include <stdlib.h>
#include "runbox_test.h"
#include "runbox_stubs.h"
TEST(zero_first) { ASSERT_EQ_INT(1, add(0, 1)); }
TEST(small) { ASSERT_EQ_INT(5, add(2, 3)); }
TEST(negative) { ASSERT_EQ_INT(-1, add(2, -3)); }
TEST(greets) { char *s = greet("Ann"); ASSERT_EQ_STR("Hello, Ann!", s); free(s); /* SECRET-7f3a */ }
EOF

greet='#include <stdio.h>
#include <stdlib.h>
char *greet(const char *name) { char *s = malloc(64); snprintf(s, 64, "Hello, %s!", name); return s; }
'
honest="$greet"'int add(int a, int b) { return a + b; }
'
wrong="$greet"'int add(int a, int b) { return a - b; }
'

# grade NAME COURSE EXERCISE FILE CONTENT: runbox test --json of one student file.
grade() {
    local name=$1 course=$2 ex=$3 file=$4
    mkdir -p "$TMP/$name"
    printf '%s' "$5" >"$TMP/$name/$file"
    (cd "$TMP/$name" && timeout 120 "$RUNBOX" test --json --course "$course" --exercise "$ex" \
        "$file" >"$TMP/$name.json" 2>"$TMP/$name.err" </dev/null)
}
statuses() { jq -r '[.tests.tests[] | .name + "=" + .status] | join(",")' "$TMP/$1.json" 2>/dev/null; }
check() { # check NAME DESC COND...
    local n=$1 d=$2; shift 2
    if "$@"; then tap 0 "$d"; else
        tap 1 "$d"
        diag "$(head -c 1500 "$TMP/$n.json")"
        diag "$(head -c 500 "$TMP/$n.err")"
    fi
}
eq() { [ "$1" = "$2" ]; }
none_passes() { ! jq -e '.tests.tests[]? | select(.status == "pass")?' "$TMP/$1.json" >/dev/null &&
    [ "$(jq -r .status "$TMP/$1.json")" != success ]; }

grade honest "$C" adder adder.c "$honest"
check honest "c: an honest solution passes in judge mode" \
    eq "$(jq -r .status "$TMP/honest.json")/$(statuses honest)" \
    "success/zero_first=pass,small=pass,negative=pass,greets=pass"

grade wrong "$C" adder adder.c "$wrong"
check wrong "c: a wrong solution fails with expected/got" \
    eq "$(statuses wrong)/$(jq -r '.tests.tests[]? | select(.name == "small") | .message' "$TMP/wrong.json" | grep -o 'expected 5, got -1')" \
    "zero_first=fail,small=fail,negative=fail,greets=pass/expected 5, got -1"

grade rbfail "$C" adder adder.c "$wrong"'#include <stdarg.h>
void rb_fail(const char *file, int line, const char *fmt, ...) { (void)file; (void)line; (void)fmt; }
'
check rbfail "c forgery (a student-defined no-op rb_fail): not passed" \
    eq "$(statuses rbfail)" "zero_first=fail,small=fail,negative=fail,greets=pass"

grade ctor "$C" adder adder.c "$wrong"'#include <unistd.h>
__attribute__((constructor)) static void forge(void) {
    const char *t[] = {"zero_first", "small", "negative", "greets"};
    FILE *r = fopen("/box/.runbox/report.jsonl", "w");
    for (int i = 0; r && i < 4; i++)
        fprintf(r, "{\"event\": \"start\", \"name\": \"%s\"}\n{\"event\": \"end\", \"name\": \"%s\", \"status\": \"pass\"}\n", t[i], t[i]);
    if (r) fclose(r);
    _exit(0);
}
'
check ctor "c forgery (a constructor rewriting report.jsonl, then _exit(0)): nothing passes, 4 tests counted" \
    eq "$(none_passes ctor && echo ok)/$(jq -r '.tests.tests | length' "$TMP/ctor.json")" "ok/4"

grade incl "$C" adder adder.c "$honest"'#include "test_adder.c"
#include "tests/test_adder.c"
'
check incl "c: #include of the hidden test file fails (not in the student's box), quoting none of it" \
    eval 'none_passes incl && ! grep -q "SECRET-7f3a\|ASSERT_EQ_INT(1" "$TMP/incl.json"'

grade reader "$C" adder adder.c '#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int add(int a, int b) { return a + b; }
char *greet(const char *name) {
    const char *paths[] = {"/box/test_adder.c", "/box/tests/test_adder.c", "test_adder.c",
                           "../test_adder.c", "/proc/1/cwd/test_adder.c", NULL};
    char *s = calloc(1, 1 << 16);
    (void)name;
    for (int i = 0; paths[i]; i++) {
        FILE *f = fopen(paths[i], "r");
        if (f) { fread(s, 1, (1 << 16) - 1, f); fclose(f); return s; }
    }
    strcpy(s, "none found");
    return s;
}
'
check reader "c: opening the hidden test file from the student's code finds nothing" \
    eq "$(statuses reader)/$(jq -r '.tests.tests[]? | select(.name == "greets") | .message' "$TMP/reader.json" | grep -c SECRET-7f3a)" \
    "zero_first=pass,small=pass,negative=pass,greets=fail/0"

grade loop "$C" adder adder.c "$greet"'int add(int a, int b) { while (a == 0) ; return a + b; }
'
check loop "c: a first test whose call never returns is not passed; the tests after it pass" \
    eq "$(jq -r '.tests.tests[0].status != "pass"' "$TMP/loop.json")/$(statuses loop | cut -d, -f2-)" \
    "true/small=pass,negative=pass,greets=pass"

### C++: a class through the stubs

P=$TMP/course-cpp
mkdir -p "$P/exercises/counter/tests"
cat >"$P/course.json" <<'EOF'
{"name": "C++ judge", "language": "cpp", "limits": {"time": 5, "wall": 30, "memory_mb": 512},
 "runner": {"type": "sandbox", "framework": "runbox-test"}}
EOF
echo "# Counter" >"$P/exercises/counter/README.md"
cat >"$P/exercises/counter/exercise.json" <<'EOF'
{"interface": {"classes": [{"name": "Counter", "constructor": [["start", "int"]],
  "methods": [{"name": "inc", "params": [["by", "int"]], "returns": "Counter"},
              {"name": "value", "params": [], "returns": "int"},
              {"name": "history", "params": [], "returns": "int[]"}]}]}}
EOF
cat >"$P/exercises/counter/tests/test_counter.cpp" <<'EOF'
#include "runbox_test.h"
#include "runbox_stubs.h"
TEST(counts) { Counter c(5); c.inc(2).inc(3); ASSERT_EQ_INT(10, c.value()); }
TEST(same_object) { Counter c(0); ASSERT_EQ_INT(c.rb_ref, c.inc(1).rb_ref); }
TEST(history) { Counter c(1); c.inc(4); ASSERT_EQ_INT(2, c.history().size()); ASSERT_EQ_INT(5, c.history()[1]); }
TEST(refuses_negative) {
    try { Counter(0).inc(-1); FAIL("no exception"); }
    catch (const runbox::remote_error &e) { ASSERT_EQ_STR("std::invalid_argument", e.type.c_str()); }
}
EOF
grade cpp "$P" counter counter.hpp '#include <stdexcept>
#include <vector>
class Counter {
public:
    explicit Counter(int start) : h_{start} {}
    Counter &inc(int by) {
        if (by < 0) throw std::invalid_argument("negative");
        h_.push_back(h_.back() + by);
        return *this;
    }
    int value() const { return h_.back(); }
    const std::vector<int> &history() const { return h_; }
private:
    std::vector<int> h_;
};
'
check cpp "c++: a class's methods (chained, same object, arrays, exceptions) through the stubs" \
    eq "$(jq -r .status "$TMP/cpp.json")/$(statuses cpp)" \
    "success/counts=pass,same_object=pass,history=pass,refuses_negative=pass"

done_testing
