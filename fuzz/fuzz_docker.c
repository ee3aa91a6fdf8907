/* libFuzzer harness for runbox-docker-init's report parser (src/docker/report.c): its bytes lie
 * in a directory the program in the container can write. Input: the report's bytes, copied to
 * a buffer of their exact size (ASan sees any read past it). Checks invariants, not just
 * survival: a report that parses is in canonical form (formatting what was parsed gives back
 * the very bytes), its key is valid, and its values are within their bounds. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docker/docker-int.h"
#include "stack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int one_input(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1), again[DOCKER__REPORT_MAX];
    struct docker__report r;

    assert(copy);
    memcpy(copy, data, size);
    if (docker__report_parse(copy, size, &r) == 0) {
        int n = docker__report_format(&r, again, sizeof(again));
        assert(n > 0 && (size_t)n == size && memcmp(again, copy, size) == 0);
        assert(docker__key_is_valid(r.key));
        assert(r.wstatus >= 0 && r.wstatus <= 0xffff);
        assert(r.exec_errno >= 0 && r.exec_errno <= 4095);
    }
    free(copy);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_on_server_stack(one_input, data, size);
}
