/* The compile cache (cache.h).
 *
 * Layout under the cache dir (0700, owned by the user runbox runs as; host-side only, never
 * bound into a box):
 *
 *   .lock                    flock()ed by whoever evicts, so two processes never evict at once
 *   tmp/                     entries being written, and entries being removed
 *   <key[0:2]>/<key>/        one entry, 0700:
 *       meta.json            {"v","key","bytes","result":{...},"files":[{"name","mode","size"}]}
 *       stdout, stderr       the compile stage's captured output
 *       files/...            the files the compile left
 *
 * An entry appears whole: it is written under tmp/ and rename()d into place; when the rename
 * finds an entry already there (another thread or process compiled the same thing), that one is
 * kept. An entry disappears whole too: it is first renamed into tmp/, then deleted. Readers
 * therefore see a whole entry or none; what they still can meet (an entry removed while they
 * read it, a disk that lost data) fails the checks against meta.json (every size must match)
 * and reads as a miss.
 *
 * Size: an entry counts the bytes of all its files, meta.json included. The in-memory total
 * (under a mutex; the server's workers share one cache) is recomputed by a scan before the
 * first put or stats call (not at open: a CLI run that only reads the cache must not open
 * every entry's meta.json on its way to the box) and by every eviction, which also brings in
 * what other processes added. When a put takes the total
 * past the cap, the least recently used entries go (meta.json's mtime; a hit touches it) until
 * the total is at most 90% of the cap, so a full cache does not scan on every put. */
#include "job/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "common/util.h"
#include "sandbox/sandbox.h"

#define CACHE_FORMAT      1
#define CACHE_DEFAULT_MAX (1ull << 30) /* max_bytes 0 */
#define META_MAX          (4u << 20)
#define OUTPUT_BUF_MIN    (1u << 20) /* the restored sbx_result's out/err maximum, at least */
#define TMP_STALE_S       3600       /* tmp/ leftovers older than this are a dead writer's */
#define LOW_WATER(max)    ((max) / 10 * 9)

struct job_cache {
    char *dir;
    int dir_fd;
    int lock_fd; /* .lock, flock()ed around eviction */
    uint64_t max_bytes;
    pthread_mutex_t mu;       /* guards entries and bytes */
    pthread_mutex_t evict_mu; /* one evicting thread per process (flock is per process) */
    uint64_t entries;
    uint64_t bytes;
    bool scanned; /* entries and bytes were set by a scan (guarded by mu) */
};

/*** Keys ***/

static void hash_len(struct job_hash *h, uint64_t len)
{
    unsigned char le[8];

    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(len >> (8 * i));
    crypto_hash_sha256_update(&h->st, le, sizeof(le));
}

void job_hash_init(struct job_hash *h)
{
    crypto_hash_sha256_init(&h->st);
}

void job_hash_add(struct job_hash *h, const void *data, size_t len)
{
    hash_len(h, len);
    if (len)
        crypto_hash_sha256_update(&h->st, data, len);
}

void job_hash_add_str(struct job_hash *h, const char *s)
{
    if (!s)
        hash_len(h, UINT64_MAX); /* no real part is that long */
    else
        job_hash_add(h, s, strlen(s));
}

void job_hash_final(struct job_hash *h, char ret[JOB_CACHE_KEY_LEN + 1])
{
    unsigned char out[crypto_hash_sha256_BYTES];

    crypto_hash_sha256_final(&h->st, out);
    sodium_bin2hex(ret, JOB_CACHE_KEY_LEN + 1, out, sizeof(out));
}

static bool key_is_valid(const char *key)
{
    size_t i = 0;

    for (; key && key[i]; i++)
        if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
            return false;
    return i == JOB_CACHE_KEY_LEN;
}

/*** Files under the cache dir (ours: trusted, but still walked with openat) ***/

/* Remove @name in @dfd and everything under it; adds the sizes of the regular files removed
 * to @bytes (may be NULL). */
static int rm_rf_at(int dfd, const char *name, uint64_t *bytes, int depth)
{
    struct stat st;
    int r = 0;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode)) {
        if (bytes && S_ISREG(st.st_mode))
            *bytes += (uint64_t)st.st_size;
        return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
    }
    if (depth > 64)
        return -ELOOP;
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        r = -errno;
        (void)close(fd);
        return r;
    }
    for (struct dirent *de; (de = readdir(d));) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int k = rm_rf_at(dirfd(d), de->d_name, bytes, depth + 1);
        if (k < 0 && r == 0)
            r = k;
    }
    (void)closedir(d);
    if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
        r = -errno;
    return r;
}

/* A fresh private name under tmp/ ("rm-" or "new-" plus 16 random hex digits). */
static void tmp_name(char *buf, size_t len, const char *prefix)
{
    unsigned char rnd[8];
    char hex[sizeof(rnd) * 2 + 1];

    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
    snprintf(buf, len, "tmp/%s%s", prefix, hex);
}

/* Take the entry at @rel out of sight, then delete it. Returns the bytes it held (0 if it was
 * gone already). */
static uint64_t remove_entry(struct job_cache *c, const char *rel)
{
    char tmp[64];
    uint64_t bytes = 0;

    tmp_name(tmp, sizeof(tmp), "rm-");
    if (renameat(c->dir_fd, rel, c->dir_fd, tmp) < 0)
        return 0;
    (void)rm_rf_at(c->dir_fd, tmp, &bytes, 0);
    return bytes;
}

static void account(struct job_cache *c, int64_t entries, int64_t bytes)
{
    pthread_mutex_lock(&c->mu);
    c->entries =
            entries < 0 && (uint64_t)-entries > c->entries ? 0 : c->entries + (uint64_t)entries;
    c->bytes = bytes < 0 && (uint64_t)-bytes > c->bytes ? 0 : c->bytes + (uint64_t)bytes;
    pthread_mutex_unlock(&c->mu);
}

static void forget_entry(struct job_cache *c, const char *rel)
{
    uint64_t bytes = remove_entry(c, rel);

    if (bytes)
        account(c, -1, -(int64_t)bytes);
}

/* Read @name in @dfd, which must hold exactly @size bytes (-EBADMSG otherwise). */
static int read_exact_at(int dfd, const char *name, uint64_t size, char **ret)
{
    _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    _cleanup_free_ char *buf = NULL;
    struct stat st;
    size_t len = 0;

    if (fd < 0)
        return errno == ENOENT || errno == ELOOP ? -EBADMSG : -errno;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size || size >= SIZE_MAX)
        return -EBADMSG;
    if (!(buf = malloc((size_t)size + 1)))
        return -ENOMEM;
    while (len < size) {
        ssize_t n = read(fd, buf + len, (size_t)size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EBADMSG;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *ret = TAKE_PTR(buf);
    return 0;
}

static int write_at(int dfd, const char *name, const void *data, size_t len, unsigned mode)
{
    _cleanup_close_ int fd =
            openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int r;

    if (fd < 0)
        return errno == EEXIST ? -EINVAL : -errno; /* a name given twice */
    if ((r = fd_write_all(fd, data, len)) < 0)
        return r;
    if (fchmod(fd, mode) < 0)
        return -errno;
    return 0;
}

/* Write @name (a safe relative path) under @dfd, creating its parent dirs. */
static int write_tree_at(int dfd, const char *name, const void *data, size_t len, unsigned mode)
{
    char path[PATH_MAX];

    if (!sbx_name_is_safe(name) || strlen(name) >= sizeof(path))
        return -EINVAL;
    strcpy(path, name);
    for (char *p = path; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdirat(dfd, path, 0700) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return write_at(dfd, path, data, len, mode);
}

/*** meta.json ***/

static json_t *result_json(const struct sbx_result *r)
{
    json_t *msg = json_text_lossy(r->message, strnlen(r->message, sizeof(r->message)));

    if (!msg)
        return NULL;
    return json_pack("{s:s, s:s, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:o}", "status",
                     sbx_status_to_string(r->status), "reason", sbx_reason_to_string(r->reason),
                     "exit_code", r->exit_code, "signal", r->signal, "cpu_us",
                     (json_int_t)r->cpu_us, "wall_us", (json_int_t)r->wall_us, "memory_bytes",
                     (json_int_t)r->memory_bytes, "stdout_bytes", (json_int_t)r->stdout_bytes,
                     "stderr_bytes", (json_int_t)r->stderr_bytes, "output_truncated",
                     r->output_truncated, "unenforced", (json_int_t)r->unenforced, "message", msg);
}

static char *meta_text(const char *key, const struct job_files *files,
                       const struct sbx_result *compile, uint64_t content)
{
    json_t *list = json_array(), *res = result_json(compile), *meta;
    char *text = NULL;

    for (size_t i = 0; list && i < files->n; i++) {
        const struct job_file *f = &files->v[i];
        json_t *o = json_pack("{s:s, s:i, s:I}", "name", f->name, "mode",
                              (int)(f->mode ? f->mode & 0777 : 0644), "size", (json_int_t)f->len);
        if (!o || json_array_append_new(list, o) < 0)
            list = (json_decref(list), NULL);
    }
    if (!list || !res) {
        json_decref(list);
        json_decref(res);
        return NULL;
    }
    meta = json_pack("{s:i, s:s, s:I, s:I, s:I, s:o, s:o}", "v", CACHE_FORMAT, "key", key, "bytes",
                     (json_int_t)content, "stdout", (json_int_t)compile->out.len, "stderr",
                     (json_int_t)compile->err.len, "result", res, "files", list);
    if (meta)
        text = json_dumps_fixed(meta, JSON_COMPACT);
    json_decref(meta);
    return text;
}

static int lookup_enum(const char *s, const char *(*to_string)(int))
{
    for (int i = 0; s && i < 64; i++)
        if (strcmp(to_string(i), s) == 0)
            return i;
    return -1;
}

static const char *status_name(int i)
{
    return sbx_status_to_string((enum sbx_status)i);
}

static const char *reason_name(int i)
{
    return sbx_reason_to_string((enum sbx_reason)i);
}

static int result_from_json(json_t *o, struct sbx_result *r)
{
    const char *status = NULL, *reason = NULL, *msg = "";
    json_int_t cpu, wall, mem, out_b, err_b, unenf;
    int exit_code, sig, tr, st, rs;

    if (json_unpack(o, "{s:s, s:s, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:s}", "status",
                    &status, "reason", &reason, "exit_code", &exit_code, "signal", &sig, "cpu_us",
                    &cpu, "wall_us", &wall, "memory_bytes", &mem, "stdout_bytes", &out_b,
                    "stderr_bytes", &err_b, "output_truncated", &tr, "unenforced", &unenf,
                    "message", &msg) < 0)
        return -EBADMSG;
    if ((st = lookup_enum(status, status_name)) < 0 || (rs = lookup_enum(reason, reason_name)) < 0)
        return -EBADMSG;
    if (cpu < 0 || wall < 0 || mem < 0 || out_b < 0 || err_b < 0 || unenf < 0)
        return -EBADMSG;
    r->status = (enum sbx_status)st;
    r->reason = (enum sbx_reason)rs;
    r->exit_code = exit_code;
    r->signal = sig;
    r->cpu_us = (uint64_t)cpu;
    r->wall_us = (uint64_t)wall;
    r->memory_bytes = (uint64_t)mem;
    r->stdout_bytes = (uint64_t)out_b;
    r->stderr_bytes = (uint64_t)err_b;
    r->output_truncated = tr;
    r->unenforced = (unsigned)unenf;
    snprintf(r->message, sizeof(r->message), "%s", msg);
    return 0;
}

/* Parse @efd's meta.json; its size goes to @ret_meta_size. */
static int meta_load(int efd, const char *key, json_t **ret, uint64_t *ret_meta_size)
{
    _cleanup_close_ int fd = openat(efd, "meta.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_free_ char *text = NULL;
    struct stat st;
    json_t *meta;
    const char *k = NULL;
    int v = 0;

    if (fd < 0)
        return errno == ENOENT || errno == ELOOP ? -EBADMSG : -errno;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > META_MAX)
        return -EBADMSG;
    int r = read_exact_at(efd, "meta.json", (uint64_t)st.st_size, &text);
    if (r < 0)
        return r;
    if (!(meta = json_load_bounded(text, (size_t)st.st_size, 0, NULL)))
        return -EBADMSG;
    if (json_unpack(meta, "{s:i, s:s}", "v", &v, "key", &k) < 0 || v != CACHE_FORMAT ||
        strcmp(k, key) != 0) {
        json_decref(meta);
        return -EBADMSG;
    }
    *ret = meta;
    *ret_meta_size = (uint64_t)st.st_size;
    return 0;
}

/*** Reading an entry ***/

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, ((const struct job_file *)b)->name);
}

/* Read the files the meta lists from @files_dir and check each against it. */
static int load_files(const char *files_dir, json_t *list, struct job_files *ret)
{
    struct job_files f = {0};
    uint64_t total = 0;
    size_t i;
    json_t *e;
    int r;

    if (!json_is_array(list))
        return -EBADMSG;
    json_array_foreach(list, i, e)
    {
        json_int_t size = json_integer_value(json_object_get(e, "size"));
        if (size < 0)
            return -EBADMSG;
        total += (uint64_t)size;
    }
    r = job_files_read(files_dir, NULL, json_array_size(list), total, &f);
    if (r == -EFBIG || r == -ENOENT || r == -ELOOP)
        return -EBADMSG;
    if (r < 0)
        return r;
    r = f.n == json_array_size(list) ? 0 : -EBADMSG;
    json_array_foreach(list, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        json_int_t mode = json_integer_value(json_object_get(e, "mode"));
        struct job_file *jf = name && f.n ? bsearch(&name, f.v, f.n, sizeof(*f.v), cmp_name) : NULL;
        if (r < 0 || !jf || jf->len != (size_t)json_integer_value(json_object_get(e, "size")) ||
            mode <= 0 || mode > 0777) {
            r = -EBADMSG;
            break;
        }
        jf->mode = (unsigned)mode;
    }
    if (r < 0) {
        job_files_done(&f);
        return r;
    }
    *ret = f;
    return 0;
}

static int load_output(int efd, const char *name, json_t *meta, struct buf *b)
{
    json_int_t len = json_integer_value(json_object_get(meta, name));
    _cleanup_free_ char *data = NULL;
    int r;

    if (len < 0 || (uint64_t)len > META_MAX * 64ull)
        return -EBADMSG;
    if ((r = read_exact_at(efd, name, (uint64_t)len, &data)) < 0)
        return r;
    buf_init(b, (size_t)len > OUTPUT_BUF_MIN ? (size_t)len : OUTPUT_BUF_MIN);
    if (len > 0 && buf_append(b, data, (size_t)len) != len) {
        buf_done(b);
        return -ENOMEM;
    }
    return 0;
}

static int load_entry(struct job_cache *c, const char *rel, const char *key,
                      struct job_files *ret_files, struct sbx_result *ret_compile)
{
    _cleanup_close_ int efd =
            openat(c->dir_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct sbx_result res = {0};
    struct job_files files = {0};
    char files_dir[PATH_MAX];
    uint64_t meta_size;
    json_t *meta = NULL;
    int r;

    if (efd < 0)
        return errno == ENOENT ? -ENOENT : errno == ELOOP || errno == ENOTDIR ? -EBADMSG : -errno;
    if ((r = meta_load(efd, key, &meta, &meta_size)) < 0)
        return r;
    if ((r = result_from_json(json_object_get(meta, "result"), &res)) < 0)
        goto out;
    if (snprintf(files_dir, sizeof(files_dir), "%s/%s/files", c->dir, rel) >=
        (int)sizeof(files_dir)) {
        r = -ENAMETOOLONG;
        goto out;
    }
    if ((r = load_files(files_dir, json_object_get(meta, "files"), &files)) < 0)
        goto out;
    if ((r = load_output(efd, "stdout", meta, &res.out)) < 0 ||
        (r = load_output(efd, "stderr", meta, &res.err)) < 0)
        goto out;
    /* The entry is now the most recently used. */
    (void)utimensat(efd, "meta.json", NULL, 0);
    *ret_files = files;
    *ret_compile = res;
    files = (struct job_files){0};
    res = (struct sbx_result){0};
out:
    job_files_done(&files);
    sbx_result_done(&res);
    json_decref(meta);
    return r;
}

int job_cache_get(struct job_cache *c, const char *key, struct job_files *ret_files,
                  struct sbx_result *ret_compile)
{
    char rel[JOB_CACHE_KEY_LEN + 4];
    int r;

    if (!key_is_valid(key))
        return -EINVAL;
    snprintf(rel, sizeof(rel), "%.2s/%s", key, key);
    r = load_entry(c, rel, key, ret_files, ret_compile);
    if (r == 0 || r == -ENOENT || r == -ENOMEM || r == -EMFILE || r == -ENFILE)
        return r;
    /* Corrupt or unreadable: it goes, and this was a miss. */
    forget_entry(c, rel);
    return r == -EBADMSG ? -ENOENT : r;
}

/*** Writing an entry ***/

static int write_entry(int dfd, const struct job_files *files, const struct sbx_result *compile,
                       const char *meta)
{
    _cleanup_close_ int fdir = -1;
    int r;

    if (mkdirat(dfd, "files", 0700) < 0)
        return -errno;
    if ((fdir = openat(dfd, "files", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return -errno;
    for (size_t i = 0; i < files->n; i++) {
        const struct job_file *f = &files->v[i];
        r = write_tree_at(fdir, f->name, f->data, f->len, f->mode ? f->mode & 0777 : 0644);
        if (r < 0)
            return r;
    }
    if ((r = write_at(dfd, "stdout", compile->out.data, compile->out.len, 0600)) < 0 ||
        (r = write_at(dfd, "stderr", compile->err.data, compile->err.len, 0600)) < 0)
        return r;
    /* Last: an entry without meta.json is an unfinished one. */
    return write_at(dfd, "meta.json", meta, strlen(meta), 0600);
}

static int evict(struct job_cache *c);

int job_cache_put(struct job_cache *c, const char *key, const struct job_files *files,
                  const struct sbx_result *compile)
{
    _cleanup_free_ char *meta = NULL;
    char tmp[64], rel[JOB_CACHE_KEY_LEN + 4];
    uint64_t content = compile->out.len + compile->err.len, total;
    bool over;
    int r;

    if (!key_is_valid(key))
        return -EINVAL;
    for (size_t i = 0; i < files->n; i++)
        content += files->v[i].len;
    if (!(meta = meta_text(key, files, compile, content)))
        return -ENOMEM;
    total = content + strlen(meta);
    if (total > c->max_bytes)
        return -EFBIG;

    tmp_name(tmp, sizeof(tmp), "new-");
    if (mkdirat(c->dir_fd, tmp, 0700) < 0)
        return -errno;
    _cleanup_close_ int tfd = openat(c->dir_fd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    r = tfd < 0 ? -errno : write_entry(tfd, files, compile, meta);
    snprintf(rel, sizeof(rel), "%.2s", key);
    if (r == 0 && mkdirat(c->dir_fd, rel, 0700) < 0 && errno != EEXIST)
        r = -errno;
    snprintf(rel, sizeof(rel), "%.2s/%s", key, key);
    if (r == 0 && renameat(c->dir_fd, tmp, c->dir_fd, rel) < 0)
        r = errno == EEXIST || errno == ENOTEMPTY ? 1 : -errno; /* keep the one there */
    if (r != 0) {
        (void)rm_rf_at(c->dir_fd, tmp, NULL, 0);
        return r < 0 ? r : 0;
    }
    account(c, 1, (int64_t)total);
    pthread_mutex_lock(&c->mu);
    /* Not scanned yet: the totals are only what this process added; the scan sets them (and
     * evicts if the cap shrank since last time). */
    over = !c->scanned || c->bytes > c->max_bytes;
    pthread_mutex_unlock(&c->mu);
    return over ? evict(c) : 0;
}

/*** Scanning and eviction ***/

struct entry {
    char rel[JOB_CACHE_KEY_LEN + 4];
    struct timespec used; /* meta.json's mtime */
    uint64_t bytes;
};

struct scan {
    struct entry *v;
    size_t n, cap;
    uint64_t bytes;
};

static int scan_add(struct scan *s, const char *rel, const struct stat *st, uint64_t bytes)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct entry *v = reallocarray(s->v, cap, sizeof(*v));
        if (!v)
            return -ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    struct entry *e = &s->v[s->n++];
    snprintf(e->rel, sizeof(e->rel), "%s", rel);
    e->used = st->st_mtim;
    e->bytes = bytes;
    s->bytes += bytes;
    return 0;
}

/* One entry dir @rel: its size, or removed when it is not a good entry. */
static int scan_entry(struct job_cache *c, const char *rel, const char *key, struct scan *s)
{
    _cleanup_close_ int efd =
            openat(c->dir_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    uint64_t meta_size;
    json_t *meta = NULL;
    struct stat st;
    int r;

    if (efd < 0)
        return errno == ENOENT ? 0 : -errno;
    r = key_is_valid(key) ? meta_load(efd, key, &meta, &meta_size) : -EBADMSG;
    if (r == -EBADMSG || (r == 0 && fstatat(efd, "meta.json", &st, 0) < 0)) {
        json_decref(meta);
        (void)remove_entry(c, rel);
        return 0;
    }
    if (r < 0)
        return r;
    json_int_t content = json_integer_value(json_object_get(meta, "bytes"));
    json_decref(meta);
    return scan_add(s, rel, &st, meta_size + (content > 0 ? (uint64_t)content : 0));
}

static int scan_prefix(struct job_cache *c, const char *prefix, struct scan *s)
{
    char rel[JOB_CACHE_KEY_LEN + 4];
    int fd = openat(c->dir_fd, prefix, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), r = 0;
    DIR *d;

    if (fd < 0)
        return 0;
    if (!(d = fdopendir(fd))) {
        (void)close(fd);
        return -ENOMEM;
    }
    for (struct dirent *de; r == 0 && (de = readdir(d));) {
        if (de->d_name[0] == '.' || strlen(de->d_name) != JOB_CACHE_KEY_LEN ||
            strncmp(de->d_name, prefix, 2) != 0)
            continue;
        snprintf(rel, sizeof(rel), "%s/%s", prefix, de->d_name);
        r = scan_entry(c, rel, de->d_name, s);
    }
    (void)closedir(d);
    return r;
}

/* Every entry in the cache dir, with its size and last use. */
static int scan(struct job_cache *c, struct scan *s)
{
    int fd = openat(c->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
    DIR *d;

    if (fd < 0)
        return -errno;
    if (!(d = fdopendir(fd))) {
        (void)close(fd);
        return -ENOMEM;
    }
    for (struct dirent *de; r == 0 && (de = readdir(d));)
        if (strlen(de->d_name) == 2 && de->d_name[0] != '.')
            r = scan_prefix(c, de->d_name, s);
    (void)closedir(d);
    return r;
}

static int cmp_used(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;

    if (x->used.tv_sec != y->used.tv_sec)
        return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
    if (x->used.tv_nsec != y->used.tv_nsec)
        return x->used.tv_nsec < y->used.tv_nsec ? -1 : 1;
    return strcmp(x->rel, y->rel);
}

/* Rescan, then drop least recently used entries until the total is under the low-water mark.
 * The in-memory total becomes the scan's, plus whatever this process added meanwhile. */
static int evict_locked(struct job_cache *c)
{
    struct scan s = {0};
    uint64_t before, removed = 0, gone = 0;
    int r;

    pthread_mutex_lock(&c->mu);
    before = c->bytes;
    pthread_mutex_unlock(&c->mu);
    if ((r = scan(c, &s)) < 0)
        goto out;
    if (s.bytes > c->max_bytes) {
        qsort(s.v, s.n, sizeof(*s.v), cmp_used);
        for (size_t i = 0; i < s.n && s.bytes - removed > LOW_WATER(c->max_bytes); i++) {
            (void)remove_entry(c, s.v[i].rel);
            removed += s.v[i].bytes;
            gone++;
        }
    }
    pthread_mutex_lock(&c->mu);
    c->bytes = s.bytes - removed + (c->bytes > before ? c->bytes - before : 0);
    c->entries = s.n - gone;
    c->scanned = true;
    pthread_mutex_unlock(&c->mu);
out:
    free(s.v);
    return r;
}

static int evict(struct job_cache *c)
{
    int r;

    pthread_mutex_lock(&c->evict_mu);
    if (flock(c->lock_fd, LOCK_EX) < 0) {
        r = -errno;
    } else {
        r = evict_locked(c);
        (void)flock(c->lock_fd, LOCK_UN);
    }
    pthread_mutex_unlock(&c->evict_mu);
    return r;
}

/*** Opening ***/

/* tmp/ entries a writer that died left behind. */
static void sweep_tmp(struct job_cache *c)
{
    int fd = openat(c->dir_fd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    time_t now = time(NULL);
    struct stat st;
    DIR *d;

    if (fd < 0)
        return;
    if (!(d = fdopendir(fd))) {
        (void)close(fd);
        return;
    }
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            now - st.st_mtim.tv_sec < TMP_STALE_S)
            continue;
        (void)rm_rf_at(dirfd(d), de->d_name, NULL, 0);
    }
    (void)closedir(d);
}

/* The cache dir, created 0700 when missing. An existing one must be ours and closed to others:
 * whoever can write it decides what the next compile "produced". */
static int open_dir(const char *dir)
{
    _cleanup_close_ int fd = -1;
    char path[PATH_MAX];
    struct stat st;

    if (strlen(dir) >= sizeof(path))
        return -ENAMETOOLONG;
    strcpy(path, dir);
    for (char *p = path + 1; (p = strchr(p, '/')); p++) { /* parents, like mkdir -p */
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return -errno;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (st.st_uid != geteuid())
        return -EPERM;
    if ((st.st_mode & 0077) && fchmod(fd, 0700) < 0)
        return -errno;
    return TAKE_FD(fd);
}

int job_cache_open(const char *dir, uint64_t max_bytes, struct job_cache **ret)
{
    struct job_cache *c;
    int r;

    if (sodium_init() < 0)
        return -EIO;
    if (!(c = calloc(1, sizeof(*c))))
        return -ENOMEM;
    c->dir_fd = c->lock_fd = -1;
    c->max_bytes = max_bytes ? max_bytes : CACHE_DEFAULT_MAX;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->evict_mu, NULL);
    if (!(c->dir = strdup(dir))) {
        r = -ENOMEM;
        goto fail;
    }
    if ((c->dir_fd = r = open_dir(dir)) < 0)
        goto fail;
    if (mkdirat(c->dir_fd, "tmp", 0700) < 0 && errno != EEXIST) {
        r = -errno;
        goto fail;
    }
    c->lock_fd = openat(c->dir_fd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (c->lock_fd < 0) {
        r = -errno;
        goto fail;
    }
    sweep_tmp(c);
    *ret = c;
    return 0;
fail:
    job_cache_free(c);
    return r;
}

struct job_cache *job_cache_free(struct job_cache *c)
{
    if (!c)
        return NULL;
    if (c->lock_fd >= 0)
        (void)close(c->lock_fd);
    if (c->dir_fd >= 0)
        (void)close(c->dir_fd);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->evict_mu);
    free(c->dir);
    free(c);
    return NULL;
}

int job_cache_stats(struct job_cache *c, uint64_t *ret_entries, uint64_t *ret_bytes)
{
    bool scanned;
    int r;

    pthread_mutex_lock(&c->mu);
    scanned = c->scanned;
    pthread_mutex_unlock(&c->mu);
    if (!scanned && (r = evict(c)) < 0)
        return r;
    pthread_mutex_lock(&c->mu);
    if (ret_entries)
        *ret_entries = c->entries;
    if (ret_bytes)
        *ret_bytes = c->bytes;
    pthread_mutex_unlock(&c->mu);
    return 0;
}
