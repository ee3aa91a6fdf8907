/* libFuzzer harness for expected-output comparison (src/job/compare.c). Input: one mode byte
 * (mode, tolerance and explanation size), then expected and got separated by "\xff\xfe" (or
 * split in the middle when there is none). Checks invariants, not just survival:
 * - every mode finds a text equal to itself;
 * - exact implies every other mode; trailing_whitespace implies float and unordered;
 * - exact, trailing_whitespace and unordered are symmetric;
 * - a mismatch always comes with an explanation, NUL-terminated inside the buffer (which is
 *   allocated to its exact size, so ASan sees any write past it) and valid UTF-8. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "job/job.h"
#include "stack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const double tolerances[] = {0, 1e-3, 1e-9, 0.5};

static bool check(enum job_compare_mode m, double tol, const char *e, size_t el, const char *g,
                  size_t gl, size_t difflen)
{
    char *diff = difflen ? malloc(difflen) : NULL;
    bool ok;

    if (difflen)
        assert(diff);
    ok = job_output_matches(m, tol, e, el, g, gl, diff, difflen);
    if (difflen) {
        size_t n = strnlen(diff, difflen);
        assert(n < difflen);
        assert(utf8_valid(diff, n));
        if (!ok && difflen > 1)
            assert(n > 0);
    }
    free(diff);
    return ok;
}

static int one_input(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum job_compare_mode mode = (enum job_compare_mode)(data[0] & 3);
    double tol = tolerances[(data[0] >> 2) & 3];
    size_t difflen = (size_t)(data[0] >> 4) * 16 + 1; /* 1 .. 241 */
    const char *rest = (const char *)data + 1, *e = rest, *g;
    size_t len = size - 1, el, gl;
    const char *sep = memmem(rest, len, "\xff\xfe", 2);

    if (sep) {
        el = (size_t)(sep - rest);
        g = sep + 2;
        gl = len - el - 2;
    } else {
        el = len / 2;
        g = rest + el;
        gl = len - el;
    }

    bool r = check(mode, tol, e, el, g, gl, difflen);
    assert(check(mode, tol, e, el, e, el, difflen));
    bool exact = check(JOB_COMPARE_EXACT, tol, e, el, g, gl, difflen);
    bool ws = check(JOB_COMPARE_TRAILING_WS, tol, e, el, g, gl, difflen);
    bool fl = check(JOB_COMPARE_FLOAT, tol, e, el, g, gl, difflen);
    bool un = check(JOB_COMPARE_UNORDERED, tol, e, el, g, gl, difflen);
    if (exact)
        assert(ws && fl && un && r);
    if (ws)
        assert(fl && un);
    assert(exact == check(JOB_COMPARE_EXACT, tol, g, gl, e, el, difflen));
    assert(ws == check(JOB_COMPARE_TRAILING_WS, tol, g, gl, e, el, difflen));
    assert(un == check(JOB_COMPARE_UNORDERED, tol, g, gl, e, el, difflen));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_on_server_stack(one_input, data, size);
}
