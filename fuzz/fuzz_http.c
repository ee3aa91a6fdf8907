/* libFuzzer harness for the small parsers of request headers and addresses that the HTTP
 * layer runs before any handler: form and query fields (http_form_get), the Host and Origin
 * checks and CORS (server/origin.c), the Content-Type check, --listen lists of numeric
 * addresses, and outbound allowlist entries (common/netpolicy.c). The first byte picks the
 * parser; each runs on a thread of the server's handler stack (stack.h). Checks: a form field
 * fits its buffer and is NUL-terminated, a smaller buffer is refused rather than cut, and a
 * field that fits decodes the same whatever the buffer; what the origin checks answer is one of
 * their documented statuses. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/netpolicy.h"
#include "server/http.h"
#include "server/origin.h"
#include "server/server.h"
#include "stack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void form(const char *s, size_t n)
{
    char big[512], small[8];
    const char *name = n && s[0] == 'a' ? "a" : "access_token";
    int r = http_form_get(s, n, name, big, sizeof(big));

    assert(r >= -2 && r < (int)sizeof(big));
    if (r >= 0) {
        assert(big[r] == '\0');
        int q = http_form_get(s, n, name, small, sizeof(small));
        if (r < (int)sizeof(small))
            assert(q == r && memcmp(small, big, (size_t)r + 1) == 0);
        else
            assert(q == -2);
    }
}

static void origin(const char *s)
{
    static char *cors[] = {"http://app.example", "https://x.example:8443", NULL};
    static char *star[] = {"*", NULL};
    struct server_config cfg = {.no_auth = s[0] & 1,
                                .cors_origins = (s[0] & 2) ? cors : NULL,
                                .judge0_cors_origins = (s[0] & 32) ? cors : NULL,
                                .piston_cors_origins = (s[0] & 64) ? star : NULL};
    enum origin_layer layer = (enum origin_layer)((unsigned char)s[0] >> 7 ? ORIGIN_JUDGE0
                                                  : (s[0] & 8)             ? ORIGIN_PISTON
                                                                           : ORIGIN_OWN);
    const char *nl = strchr(s, '\n');
    char host[256] = "";
    const char *org = nl ? nl + 1 : NULL;
    char why[300];

    if (nl)
        snprintf(host, sizeof(host), "%.*s", (int)(nl - s), s);
    (void)origin_host_is_loopback(host);
    int r = origin_check(&cfg, layer, s[0] & 4 ? "POST" : "GET", nl ? host : s, org, s[0] & 8, why,
                         sizeof(why));
    assert(r == 0 || r == 403 || r == 421);
    struct http_header h[ORIGIN_CORS_MAX_HEADERS];
    const struct origin_cors_request rq = {layer, org, s[0] & 16, nl ? host : s};
    assert(origin_cors_headers(&cfg, &rq, h) <= ORIGIN_CORS_MAX_HEADERS);
    (void)origin_content_type_is_json(s);
}

static void listen_spec(const char *s)
{
    struct listen_addr a[ORIGIN_LISTEN_MAX];
    size_t n = 0;
    char err[256];

    /* Numeric forms only: a name would ask a resolver. */
    if (strspn(s, "0123456789abcdefABCDEF.:[],") != strlen(s))
        return;
    if (origin_listen_parse(s, a, ORIGIN_LISTEN_MAX, &n, err, sizeof(err)) == 0)
        assert(n > 0 && n <= ORIGIN_LISTEN_MAX);
}

static void allow_entry(const char *s)
{
    struct netpolicy p = {0};

    (void)!netpolicy_add(&p, s);
    netpolicy_done(&p);
}

static int one_input(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 4) {
    case 0:
        form(s, size - 1);
        break;
    case 1:
        origin(s);
        break;
    case 2:
        listen_spec(s);
        break;
    default:
        allow_entry(s);
        break;
    }
    free(s);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_on_server_stack(one_input, data, size);
}
