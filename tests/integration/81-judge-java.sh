#!/usr/bin/env bash
# Judge mode for Java (docs/judge.md "Java"): a course exercise with a declared interface, JUnit 5
# tests in the judge box against generated classes, the student's classes in the student box.
# An honest solution passes; a wrong one fails with JUnit's "expected: <5> but was: <-1>"; a
# shutdown hook that writes an all-pass report and System.exit(0) comes back not passed (the same
# files with --in-process, today's mode before judge mode, came back "success": forged); the
# hidden test file cannot be read from the student's code; a call that never returns fails its
# test and the tests after it still pass. JVM starts are slow: five runs (about 45 s).
. "$(dirname "$0")/../lib.sh"

need_tools 81-judge-java jq /usr/lib/jvm/java-17-openjdk-amd64/bin/javac
if [ ! -f /usr/share/java/junit-platform-console-standalone.jar ]; then
    skip 81-judge-java "JUnit's console launcher is not installed"
    done_testing
    exit
fi

C=$TMP/course
X=$C/exercises/clock
mkdir -p "$X/tests"
cat >"$C/course.json" <<'EOF'
{"name": "Java judge", "language": "java", "limits": {"time": 10, "wall": 20, "memory_mb": 512},
 "runner": {"type": "sandbox", "framework": "junit5"}}
EOF
printf '# Clock\n\nWrite Solution.java (static add) and Clock.java.\n' >"$X/README.md"
cat >"$X/exercise.json" <<'EOF'
{"interface": {
  "functions": [{"name": "add", "params": [["a", "int"], ["b", "int"]], "returns": "int"}],
  "classes": [{"name": "Clock", "constructor": [["h", "int"], ["m", "int"]],
               "methods": [{"name": "plus", "params": [["m", "int"]], "returns": "Clock"},
                           {"name": "equals", "params": [["o", "Clock"]], "returns": "bool"},
                           {"name": "toString", "params": [], "returns": "string"}]}]}}
EOF
cat >"$X/tests/GradeTest.java" <<'EOF'
import static org.junit.jupiter.api.Assertions.*;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

@TestMethodOrder(MethodOrderer.MethodName.class)
class GradeTest {
    static final String SECRET = "hidden-oracle-7f3a";
    @Test void a_small() { assertEquals(5, Solution.add(2, 3)); }
    @Test void b_negative() { assertEquals(6, Solution.add(10, -4)); }
    @Test void c_clock() { assertEquals("09:15", new Clock(8, 0).plus(75).toString()); }
    @Test void d_equal() { assertEquals(new Clock(9, 15), new Clock(8, 0).plus(75)); }
}
EOF
printf 'class Solution {\n    static int add(int a, int b) { return 0; }\n}\n' >"$X/Solution.java"
cat >"$X/Clock.java" <<'EOF'
class Clock {
    private final int min;
    Clock(int h, int m) { min = ((h * 60 + m) % 1440 + 1440) % 1440; }
    Clock plus(int m) { return new Clock(0, min + m); }
    @Override public boolean equals(Object o) { return o instanceof Clock && ((Clock) o).min == min; }
    @Override public int hashCode() { return min; }
    @Override public String toString() { return String.format("%02d:%02d", min / 60, min % 60); }
}
EOF

# judge NAME ADD_BODY [runbox test args...]: the student's Solution.add is ADD_BODY (Clock is
# the honest one); the result of runbox test --json into $TMP/NAME.json.
judge() {
    local name=$1 body=$2 d=$TMP/$1; shift 2
    mkdir -p "$d"
    cp "$X/Clock.java" "$d/"
    printf 'import java.nio.file.*;\nclass Solution {\n    static int add(int a, int b) {\n%s\n    }\n}\n' \
        "$body" >"$d/Solution.java"
    (cd "$d" && "$RUNBOX" test --json "$@" --course "$C" --exercise clock Solution.java \
        Clock.java >"$TMP/$name.json" 2>"$TMP/$name.err" </dev/null)
    CUR=$name
}
status() { jq -r --arg t "$2" '[.tests.tests[] | select(.name == $t) | .status][0] // "missing"' "$TMP/$1.json"; }
statuses() { jq -r '[.tests.tests[] | .name + "=" + .status] | sort | join(",")' "$TMP/$1.json"; }
check() { # check DESC COND...
    local d=$1; shift
    if "$@"; then tap 0 "$d"; else tap 1 "$d"; diag "$(head -c 1500 "$TMP/$CUR.json")"; fi
}
eq() { [ "$1" = "$2" ]; }

judge honest '        return a + b;'
check "java: an honest solution passes in judge mode" \
    eq "$(jq -r '.status + "/" + .message' "$TMP/honest.json")" "success/All 4 tests passed"

judge wrong '        return a - b;'
check "java: a wrong solution fails with JUnit's expected/was" \
    eq "$(status wrong 'a_small()')/$(status wrong 'b_negative()')/$(status wrong 'c_clock()')" "fail/fail/pass"
check "java: ... and says what was expected" \
    bash -c "jq -r '.tests.tests[] | select(.name == \"a_small()\") | .message' '$TMP/wrong.json' | grep -q 'expected: <5> but was: <-1>'"

# The forgery: a shutdown hook writes an all-pass report where the harness writes its own, then
# the run ends with System.exit(0).
forge='        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                Files.createDirectories(Paths.get("/box/.runbox"));
                Files.writeString(Paths.get("/box/.runbox/TEST-junit-jupiter.xml"),
                    "<testsuite name=\"x\" tests=\"4\" failures=\"0\" errors=\"0\">"
                    + "<testcase name=\"a_small()\"/><testcase name=\"b_negative()\"/>"
                    + "<testcase name=\"c_clock()\"/><testcase name=\"d_equal()\"/></testsuite>");
            } catch (Exception e) { }
        }));
        System.exit(0);
        return 0;'
judge forge2 "$forge"
check "java: in judge mode the shutdown hook + System.exit(0) forgery does not pass" \
    eq "$(jq -r .status "$TMP/forge2.json")/$(status forge2 'a_small()')/$(status forge2 'b_negative()')" \
    "test_failure/fail/fail"
check "java: ... and the crash is what the failure says" \
    bash -c "jq -r '.tests.tests[] | select(.name == \"a_small()\") | .message' '$TMP/forge2.json' | grep -q 'crashed'"

# The hidden test file, read from the student's code: not in the student's box.
judge reader '        try {
            return Files.readString(Paths.get("/box/GradeTest.java")).contains("hidden-oracle") ? a + b : -1;
        } catch (java.io.IOException e) {
            throw new IllegalStateException("unreadable: " + e.getClass().getName());
        }'
check "java: the hidden test file cannot be read from the student's code" \
    bash -c "! grep -q hidden-oracle '$TMP/reader.json' && grep -q 'unreadable: java.nio.file.NoSuchFileException' '$TMP/reader.json'"
check "java: ... so the tests that call add do not pass, and the others do" \
    eq "$(statuses reader)" "a_small()=error,b_negative()=error,c_clock()=pass,d_equal()=pass"

# A call that never returns: its test is reported, the tests after it (a fresh student box) pass.
judge loop '        while (a == 2) { }
        return a + b;'
check "java: a hung call fails its test and the tests after it still pass" \
    eq "$(statuses loop)/$(jq -r .status "$TMP/loop.json")" \
    "a_small()=fail,b_negative()=pass,c_clock()=pass,d_equal()=pass/test_failure"
check "java: ... and says it timed out" \
    bash -c "jq -r '.tests.tests[] | select(.name == \"a_small()\") | .message' '$TMP/loop.json' | grep -q 'timed out'"

done_testing
