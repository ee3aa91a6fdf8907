/* The compile cache: what a compile stage left in the workspace, keyed by a hash of everything
 * that went into it (language, toolchain version, argv, every source file), kept under a
 * directory with a size cap and least-recently-used eviction. Safe to share between threads and
 * between runbox processes on one directory. */
#pragma once

#include <sodium.h>
#include <stdint.h>

#include "job/job.h"

#define JOB_CACHE_KEY_LEN 64 /* hex SHA-256 */

/* Building a key: add every part (lengths are hashed too, so parts cannot run together). */
struct job_hash {
    crypto_hash_sha256_state st;
};
void job_hash_init(struct job_hash *h);
void job_hash_add(struct job_hash *h, const void *data, size_t len);
void job_hash_add_str(struct job_hash *h, const char *s); /* NULL hashes differently from "" */
void job_hash_final(struct job_hash *h, char ret[JOB_CACHE_KEY_LEN + 1]);

/* Open (creating it, mode 0700) the cache under @dir, holding at most @max_bytes. */
int job_cache_open(const char *dir, uint64_t max_bytes, struct job_cache **ret) _warn_unused_;
struct job_cache *job_cache_free(struct job_cache *c);

/* The entry for @key: its files and the compile stage's result (status, reason, exit code,
 * times, memory, stdout and stderr). 0 on a hit (the entry becomes the most recently used),
 * -ENOENT on a miss, another -errno when the entry is unreadable (it is then removed). */
int job_cache_get(struct job_cache *c, const char *key, struct job_files *ret_files,
                  struct sbx_result *ret_compile) _warn_unused_;

/* Store @files and @compile under @key (written aside, then renamed into place, so readers never
 * see half an entry), then evict the least recently used entries past the cap. An entry larger
 * than the cap is not stored (-EFBIG). */
int job_cache_put(struct job_cache *c, const char *key, const struct job_files *files,
                  const struct sbx_result *compile) _warn_unused_;

/* Entries and bytes held now, for `runbox doctor`, metrics and tests. */
int job_cache_stats(struct job_cache *c, uint64_t *ret_entries, uint64_t *ret_bytes);
