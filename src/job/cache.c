/* SKELETON */
#include "job/cache.h"

#include <errno.h>

void job_hash_init(struct job_hash *h)
{
    crypto_hash_sha256_init(&h->st);
}

void job_hash_add(struct job_hash *h, const void *data, size_t len)
{
    (void)h, (void)data, (void)len;
}

void job_hash_add_str(struct job_hash *h, const char *s)
{
    (void)h, (void)s;
}

void job_hash_final(struct job_hash *h, char ret[JOB_CACHE_KEY_LEN + 1])
{
    (void)h;
    ret[0] = '\0';
}

int job_cache_open(const char *dir, uint64_t max_bytes, struct job_cache **ret)
{
    (void)dir, (void)max_bytes, (void)ret;
    return -ENOSYS;
}

struct job_cache *job_cache_free(struct job_cache *c)
{
    (void)c;
    return NULL;
}

int job_cache_get(struct job_cache *c, const char *key, struct job_files *ret_files,
                  struct sbx_result *ret_compile)
{
    (void)c, (void)key, (void)ret_files, (void)ret_compile;
    return -ENOENT;
}

int job_cache_put(struct job_cache *c, const char *key, const struct job_files *files,
                  const struct sbx_result *compile)
{
    (void)c, (void)key, (void)files, (void)compile;
    return -ENOSYS;
}

int job_cache_stats(struct job_cache *c, uint64_t *ret_entries, uint64_t *ret_bytes)
{
    (void)c, (void)ret_entries, (void)ret_bytes;
    return -ENOSYS;
}
