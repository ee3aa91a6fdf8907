/* The report of runbox-docker-init: written by init (init.c), read back by runbox (docker.c).
 * Its bytes lie in a directory the program could write too, so the parser trusts nothing: one
 * fixed line per field, in order, decimal numbers without sign, nothing more. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "docker/docker-int.h"

#define REPORT_MAGIC "runbox-docker-report 1"

static const char *const killed_names[] = {
        [DOCKER__KILLED_NONE] = "none",
        [DOCKER__KILLED_CPU] = "cpu",
        [DOCKER__KILLED_WALL] = "wall",
};

bool docker__key_is_valid(const char *key)
{
    size_t i;

    for (i = 0; key[i]; i++)
        if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
            return false;
    return i == DOCKER__KEY_LEN;
}

int docker__report_format(const struct docker__report *r, char *buf, size_t len)
{
    int n = snprintf(buf, len,
                     REPORT_MAGIC "\n"
                                  "key %s\n"
                                  "wstatus %d\n"
                                  "exec_errno %d\n"
                                  "killed %s\n"
                                  "cpu_us %llu\n"
                                  "wall_us %llu\n"
                                  "memory_bytes %llu\n"
                                  "oom_kills %llu\n",
                     r->key, r->wstatus, r->exec_errno, killed_names[r->killed],
                     (unsigned long long)r->cpu_us, (unsigned long long)r->wall_us,
                     (unsigned long long)r->memory_bytes, (unsigned long long)r->oom_kills);

    return n < 0 || (size_t)n >= len ? -ENOBUFS : n;
}

/* The next line of [*p, end) must be "@name VALUE"; its value (NUL-terminated) into @val. */
static int next_field(const char **p, const char *end, const char *name, char *val, size_t vlen)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t nlen = strlen(name);

    if (!nl || (size_t)(nl - *p) <= nlen + 1 || memcmp(*p, name, nlen) != 0 || (*p)[nlen] != ' ')
        return -EINVAL;
    const char *v = *p + nlen + 1;
    size_t n = (size_t)(nl - v);
    if (n >= vlen || memchr(v, '\0', n))
        return -EINVAL;
    memcpy(val, v, n);
    val[n] = '\0';
    *p = nl + 1;
    return 0;
}

/* A decimal number of at most 20 digits, no sign, no leading zero, at most @max. */
static int field_u64(const char **p, const char *end, const char *name, uint64_t max, uint64_t *ret)
{
    char val[24];

    if (next_field(p, end, name, val, sizeof(val)) < 0)
        return -EINVAL;
    if ((val[0] == '0' && val[1]) || parse_u64(val, ret) < 0 || *ret > max)
        return -EINVAL;
    return 0;
}

int docker__report_parse(const char *buf, size_t len, struct docker__report *ret)
{
    const char *p = buf, *end = buf + len;
    struct docker__report r = {0};
    uint64_t wstatus, exec_errno;
    char val[DOCKER__KEY_LEN + 2];
    size_t k;

    if (len > DOCKER__REPORT_MAX || len < sizeof(REPORT_MAGIC) ||
        memcmp(p, REPORT_MAGIC "\n", sizeof(REPORT_MAGIC)) != 0)
        return -EINVAL;
    p += sizeof(REPORT_MAGIC);
    if (next_field(&p, end, "key", val, sizeof(val)) < 0 || !docker__key_is_valid(val))
        return -EINVAL;
    memcpy(r.key, val, sizeof(r.key));
    if (field_u64(&p, end, "wstatus", 0xffff, &wstatus) < 0 ||
        field_u64(&p, end, "exec_errno", 4095, &exec_errno) < 0 ||
        next_field(&p, end, "killed", val, sizeof(val)) < 0)
        return -EINVAL;
    for (k = 0; k < ARRAY_SIZE(killed_names); k++)
        if (strcmp(val, killed_names[k]) == 0)
            break;
    if (k == ARRAY_SIZE(killed_names))
        return -EINVAL;
    if (field_u64(&p, end, "cpu_us", UINT64_MAX, &r.cpu_us) < 0 ||
        field_u64(&p, end, "wall_us", UINT64_MAX, &r.wall_us) < 0 ||
        field_u64(&p, end, "memory_bytes", UINT64_MAX, &r.memory_bytes) < 0 ||
        field_u64(&p, end, "oom_kills", UINT64_MAX, &r.oom_kills) < 0 || p != end)
        return -EINVAL;
    r.wstatus = (int)wstatus;
    r.exec_errno = (int)exec_errno;
    r.killed = (enum docker__killed)k;
    *ret = r;
    return 0;
}
