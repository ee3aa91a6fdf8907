/* Files in and out of a workspace: reading one back (after a compile, for the cache), writing
 * files into one, and listing what a program left in /box/out/.
 *
 * A program ran in the workspace as the box user and owns it: it may have left symlinks to host
 * files (/etc/shadow), FIFOs that block an open(), sockets, device nodes, files that grow or
 * shrink while we read, and very deep or very wide trees. So walks go through directory fds,
 * openat(O_NOFOLLOW | O_DIRECTORY) for each directory (isolate util.c explains why nftw() is
 * not safe here); files are opened O_NOFOLLOW | O_NONBLOCK, fstat must say S_ISREG, and we read
 * no more than the size fstat gave. Nothing is ever followed, and nothing can block us.
 *
 * MIME types come from libmagic. A magic cookie is not thread-safe and the server's workers
 * call job_out_files() concurrently, so each thread loads its own, lazily, on first use, and
 * the thread's exit frees it (a pthread key destructor). Measured on the dev VM (file 5.44):
 * magic_open + magic_load ~0.05-0.15 ms, and the cookie's first lookup ~0.5-1.5 ms more (lazy
 * set-up), once per thread; then ~10 us for a PNG, ~0.2-0.4 ms for text. Text files whose
 * extension names a text format skip libmagic altogether. libmagic itself is loaded on first
 * use (common/lazylib.h): a run that returns no files never maps it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "common/lazylib.h"
#include "common/util.h"
#include "job/job.h"
#include "sandbox/sandbox.h"

#define WALK_MAX_DEPTH   16
#define WALK_MAX_ENTRIES 65536 /* entries visited in one walk, files or not */
#define OUT_MAX_FILES    16
#define OUT_MAX_BYTES    (8ull << 20)
#define OUT_MAX_LISTED   256 /* entries listed in job_out_files(), with or without content */
#define MAGIC_HEAD       (64u << 10) /* libmagic sees at most this much of a file */

void job_files_done(struct job_files *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].name);
        free(f->v[i].data);
    }
    free(f->v);
    *f = (struct job_files){0};
}

/*** Walking a tree the box owns ***/

enum walk_kind {
    WALK_DIR,   /* a directory, before the walk enters it */
    WALK_FILE,  /* a regular file */
    WALK_LINK,  /* a symlink: never followed */
    WALK_OTHER, /* a FIFO, socket or device: never opened */
    WALK_DEEP,  /* a directory past WALK_MAX_DEPTH */
};

/* Called for each entry: @dfd is the entry's directory, @name its name there, @rel its path from
 * the top. Returns 0, 1 to keep the walk out of a WALK_DIR, or -errno (stops the walk). */
typedef int (*walk_fn)(void *ctx, int dfd, const char *name, const char *rel, enum walk_kind k,
                       const struct stat *st);

struct walk {
    walk_fn fn;
    void *ctx;
    size_t visited;
};

static int walk_dir(struct walk *w, int dfd, const char *prefix, int depth);

static int walk_entry(struct walk *w, int dfd, const char *name, const char *prefix, int depth)
{
    char rel[WALK_MAX_DEPTH * (NAME_MAX + 1) + 1]; /* the depth cap keeps paths below this */
    struct stat st;
    int n, r;

    if (++w->visited > WALK_MAX_ENTRIES)
        return -EFBIG;
    n = *prefix ? snprintf(rel, sizeof(rel), "%s/%s", prefix, name)
                : snprintf(rel, sizeof(rel), "%s", name);
    if (n < 0 || (size_t)n >= sizeof(rel))
        return -ENAMETOOLONG;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno; /* gone meanwhile */
    if (S_ISDIR(st.st_mode)) {
        if (depth >= WALK_MAX_DEPTH)
            return w->fn(w->ctx, dfd, name, rel, WALK_DEEP, &st);
        if ((r = w->fn(w->ctx, dfd, name, rel, WALK_DIR, &st)) != 0)
            return r < 0 ? r : 0;
        _cleanup_close_ int sub =
                openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            return errno == ENOENT || errno == ELOOP || errno == ENOTDIR ? 0 : -errno;
        return walk_dir(w, TAKE_FD(sub), rel, depth + 1);
    }
    enum walk_kind k = S_ISREG(st.st_mode)   ? WALK_FILE
                       : S_ISLNK(st.st_mode) ? WALK_LINK
                                             : WALK_OTHER;
    return w->fn(w->ctx, dfd, name, rel, k, &st);
}

/* Walk the directory @fd (taken over) whose path from the top is @prefix. */
static int walk_dir(struct walk *w, int fd, const char *prefix, int depth)
{
    DIR *d = fdopendir(fd);
    struct dirent *de;
    int r = 0;

    if (!d) {
        r = -errno;
        (void)close(fd);
        return r;
    }
    while (r == 0) {
        errno = 0;
        if (!(de = readdir(d))) {
            r = -errno;
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        r = walk_entry(w, dirfd(d), de->d_name, prefix, depth);
    }
    (void)closedir(d);
    return r;
}

static int walk(int top, walk_fn fn, void *ctx)
{
    struct walk w = {.fn = fn, .ctx = ctx};
    /* A new open file description: readdir's offset is not shared with @top. */
    int fd = openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    return walk_dir(&w, fd, "", 1);
}

/* Read the regular file @name in @dfd, at most @max bytes (-EFBIG past it). -ENODATA when it is
 * not a regular file any more (replaced by a symlink, a FIFO, or gone): skip it. */
static int read_regular(int dfd, const char *name, uint64_t max, char **ret, size_t *ret_len,
                        unsigned *ret_mode)
{
    _cleanup_close_ int fd =
            openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    _cleanup_free_ char *buf = NULL;
    struct stat st;
    size_t len = 0;

    if (fd < 0)
        return errno == ELOOP || errno == ENXIO || errno == ENOENT ? -ENODATA : -errno;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -ENODATA;
    if ((uint64_t)st.st_size > max || (uint64_t)st.st_size >= SIZE_MAX)
        return -EFBIG;
    buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return -ENOMEM;
    while (len < (size_t)st.st_size) { /* a file that grew: the rest is not read */
        ssize_t n = pread(fd, buf + len, (size_t)st.st_size - len, (off_t)len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0) /* it shrank */
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *ret = TAKE_PTR(buf);
    *ret_len = len;
    *ret_mode = st.st_mode & 0777;
    return 0;
}

int job_file_read(const char *dir, const char *name, uint64_t max, char **ret, size_t *ret_len)
{
    _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    unsigned mode;

    if (dfd < 0)
        return -errno;
    if (strchr(name, '/'))
        return -EINVAL;
    int r = read_regular(dfd, name, max, ret, ret_len, &mode);
    return r == -ENODATA ? -ENOENT : r;
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct job_file *)a)->name, ((const struct job_file *)b)->name);
}

/*** job_files_read ***/

struct reader {
    const char *const *skip;
    size_t max_files;
    uint64_t max_bytes;
    struct job_files f;
    size_t cap;
};

/* True when @rel is one of the @skip prefixes or lies under one ("out" skips "out/x"). */
static bool is_skipped(const char *rel, const char *const *skip)
{
    for (; skip && *skip; skip++) {
        size_t n = strlen(*skip);
        while (n > 0 && (*skip)[n - 1] == '/')
            n--;
        if (n > 0 && strncmp(rel, *skip, n) == 0 && (rel[n] == '\0' || rel[n] == '/'))
            return true;
    }
    return false;
}

static int reader_add(struct reader *rd, char *name, char *data, size_t len, unsigned mode)
{
    if (rd->f.n == rd->cap) {
        size_t cap = rd->cap ? rd->cap * 2 : 16;
        struct job_file *v = reallocarray(rd->f.v, cap, sizeof(*v));
        if (!v)
            return -ENOMEM;
        rd->f.v = v;
        rd->cap = cap;
    }
    rd->f.v[rd->f.n++] = (struct job_file){.name = name, .data = data, .len = len, .mode = mode};
    rd->f.bytes += len;
    return 0;
}

static int reader_visit(void *ctx, int dfd, const char *name, const char *rel, enum walk_kind k,
                        const struct stat *st)
{
    struct reader *rd = ctx;
    _cleanup_free_ char *data = NULL;
    _cleanup_free_ char *copy = NULL;
    size_t len;
    unsigned mode;
    int r;

    (void)st;
    if (is_skipped(rel, rd->skip))
        return k == WALK_DIR ? 1 : 0;
    if (k == WALK_DIR)
        return 0;
    if (k == WALK_DEEP)
        return -ELOOP;
    if (k != WALK_FILE)
        return 0;
    if (rd->f.n >= rd->max_files)
        return -EFBIG;
    r = read_regular(dfd, name, rd->max_bytes - rd->f.bytes, &data, &len, &mode);
    if (r == -ENODATA)
        return 0;
    if (r < 0)
        return r;
    if (!(copy = strdup(rel)))
        return -ENOMEM;
    if ((r = reader_add(rd, copy, data, len, mode)) < 0)
        return r;
    TAKE_PTR(copy);
    TAKE_PTR(data);
    return 0;
}

/* The caps are taken as given: max_files 0 allows no file at all. */
int job_files_read(const char *dir, const char *const *skip, size_t max_files, uint64_t max_bytes,
                   struct job_files *ret)
{
    struct reader rd = {.skip = skip, .max_files = max_files, .max_bytes = max_bytes};
    _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r;

    if (fd < 0)
        return -errno;
    r = walk(fd, reader_visit, &rd);
    if (r < 0) {
        job_files_done(&rd.f);
        return r;
    }
    if (rd.f.n > 1)
        qsort(rd.f.v, rd.f.n, sizeof(*rd.f.v), cmp_file);
    *ret = rd.f;
    return 0;
}

/*** job_files_write ***/

/* sbx_workspace_put() creates the file through the umask; give it exactly @mode. */
static int set_mode(const char *dir, const char *name, unsigned mode)
{
    char path[PATH_MAX];
    struct stat st;
    int r;

    if ((r = path_join(path, sizeof(path), dir, name)) < 0)
        return r;
    _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    if ((st.st_mode & 0777) != mode && fchmod(fd, mode) < 0)
        return -errno;
    return 0;
}

int job_files_write(const char *dir, const struct job_files *f)
{
    int r;

    for (size_t i = 0; i < f->n; i++) {
        const struct job_file *jf = &f->v[i];
        unsigned mode = jf->mode ? jf->mode & 0777 : 0644;
        if ((r = sbx_workspace_put(dir, jf->name, jf->data, jf->len, mode)) < 0)
            return r;
        if ((r = set_mode(dir, jf->name, mode)) < 0)
            return r;
    }
    return 0;
}

/*** MIME types ***/

#define MAGIC_SYMS(X) X(magic_open) X(magic_load) X(magic_buffer) X(magic_close)
LAZYLIB_DEFINE(libmagic, RUNBOX_SONAME_MAGIC, MAGIC_SYMS);

static pthread_once_t magic_once = PTHREAD_ONCE_INIT;
static pthread_key_t magic_key;
static bool magic_key_ok;

static void magic_free(void *cookie)
{
    libmagic_api.magic_close(cookie);
}

static void magic_key_init(void)
{
    magic_key_ok = pthread_key_create(&magic_key, magic_free) == 0;
}

/* This thread's libmagic cookie, loaded on first use; NULL when libmagic cannot load. */
static magic_t thread_magic(void)
{
    magic_t m;

    (void)pthread_once(&magic_once, magic_key_init);
    if (!magic_key_ok || lazylib_load(&libmagic) < 0)
        return NULL;
    if ((m = pthread_getspecific(magic_key)))
        return m;
    /* No decompression and no CDF (old MS Office) parser on untrusted bytes. */
    m = libmagic_api.magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_CDF);
    if (!m)
        return NULL;
    if (libmagic_api.magic_load(m, NULL) < 0 || pthread_setspecific(magic_key, m) != 0) {
        libmagic_api.magic_close(m);
        return NULL;
    }
    return m;
}

/* Text formats libmagic calls text/plain (or guesses loosely), by extension. */
static const struct {
    const char *ext;
    const char *mime;
} ext_mimes[] = {
        {".csv", "text/csv"},          {".tsv", "text/tab-separated-values"},
        {".json", "application/json"}, {".svg", "image/svg+xml"},
        {".md", "text/markdown"},      {".html", "text/html"},
        {".htm", "text/html"},         {".css", "text/css"},
        {".js", "text/javascript"},    {".xml", "application/xml"},
        {".yaml", "application/yaml"}, {".yml", "application/yaml"},
        {".txt", "text/plain"},        {".log", "text/plain"},
};

static const char *mime_by_ext(const char *name)
{
    const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');

    if (!dot || (slash && dot < slash))
        return NULL;
    for (size_t i = 0; i < ARRAY_SIZE(ext_mimes); i++)
        if (strcasecmp(dot, ext_mimes[i].ext) == 0)
            return ext_mimes[i].mime;
    return NULL;
}

/* True when libmagic's answer is vague enough for the extension to decide: some text, or an
 * empty file. Binary answers stand (a binary file named x.csv is not text/csv). */
static bool is_vague(const char *mime)
{
    return strncmp(mime, "text/", 5) == 0 || strcmp(mime, "application/json") == 0 ||
           strcmp(mime, "application/x-empty") == 0 || strcmp(mime, "inode/x-empty") == 0;
}

static const char *mime_type(const char *name, const char *data, size_t len)
{
    const char *by_ext = mime_by_ext(name), *by_magic = NULL;
    magic_t m;

    /* Text under a text extension: libmagic would only say text/plain, slowly (~0.3 ms). */
    if (by_ext && !memchr(data, '\0', len) && utf8_valid(data, len))
        return by_ext;
    if ((m = thread_magic()))
        by_magic = libmagic_api.magic_buffer(m, data, len < MAGIC_HEAD ? len : MAGIC_HEAD);
    if (by_magic && (!by_ext || !is_vague(by_magic)))
        return by_magic;
    if (by_ext)
        return by_ext;
    return len ? "application/octet-stream" : "inode/x-empty";
}

const char *job_mime_sniff(const void *data, size_t len)
{
    const char *by_magic = NULL;
    magic_t m = thread_magic();

    if (m && len)
        by_magic = libmagic_api.magic_buffer(m, data, len < MAGIC_HEAD ? len : MAGIC_HEAD);
    return by_magic ? by_magic : "application/octet-stream";
}

/*** job_out_files ***/

struct out_entry {
    char *name;
    enum walk_kind kind;
    uint64_t size;
};

struct out_list {
    struct out_entry *v;
    size_t n, cap;
    bool cut; /* the walk stopped at WALK_MAX_ENTRIES */
};

static void out_list_done(struct out_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
}

static int out_visit(void *ctx, int dfd, const char *name, const char *rel, enum walk_kind k,
                     const struct stat *st)
{
    struct out_list *l = ctx;

    (void)dfd, (void)name;
    if (k == WALK_DIR)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct out_entry *v = reallocarray(l->v, cap, sizeof(*v));
        if (!v)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    char *copy = strdup(rel);
    if (!copy)
        return -ENOMEM;
    l->v[l->n++] = (struct out_entry){
            .name = copy, .kind = k, .size = k == WALK_FILE ? (uint64_t)st->st_size : 0};
    return 0;
}

static int cmp_out(const void *a, const void *b)
{
    return strcmp(((const struct out_entry *)a)->name, ((const struct out_entry *)b)->name);
}

/* Open @rel under @top one component at a time, never following a symlink on the way (the walk
 * saw the tree; this makes sure the path still means the same place). */
static int open_beneath(int top, const char *rel)
{
    _cleanup_free_ char *copy = strdup(rel);
    _cleanup_close_ int dfd = -1;
    char *part, *next;

    if (!copy)
        return -ENOMEM;
    if ((dfd = dup(top)) < 0)
        return -errno;
    for (part = copy; (next = strchr(part, '/')); part = next + 1) {
        *next = '\0';
        int sub = openat(dfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            return -errno;
        (void)close(dfd);
        dfd = sub;
    }
    return TAKE_FD(dfd); /* the last part is opened by the caller */
}

static const char *kind_omitted(enum walk_kind k)
{
    switch (k) {
    case WALK_LINK:
        return "symlink";
    case WALK_OTHER:
        return "not a regular file";
    case WALK_DEEP:
        return "directory nested too deep";
    case WALK_DIR:
    case WALK_FILE:
        break;
    }
    return NULL;
}

static json_t *entry_json(const char *name, uint64_t size, const char *mime, json_t *content,
                          const char *omitted)
{
    json_t *o = json_pack("{s:s?, s:I, s:s?, s:o}", "name", name, "size", (json_int_t)size, "mime",
                          mime, "content", content ? content : json_null());

    if (o && omitted && json_object_set_new(o, "omitted", json_string(omitted)) < 0)
        o = (json_decref(o), NULL);
    return o;
}

struct out_budget {
    size_t files_left;
    uint64_t bytes_left;
    size_t max_files;
    uint64_t max_bytes;
};

static void human_bytes(char *buf, size_t len, uint64_t n)
{
    if (n >= (1u << 20) && n % (1u << 20) == 0)
        snprintf(buf, len, "%llu MiB", (unsigned long long)(n >> 20));
    else if (n >= 1024 && n % 1024 == 0)
        snprintf(buf, len, "%llu KiB", (unsigned long long)(n >> 10));
    else
        snprintf(buf, len, "%llu bytes", (unsigned long long)n);
}

/* One regular file's entry: its content when it fits the budget, otherwise why not. */
static json_t *file_json(int top, const struct out_entry *e, struct out_budget *b)
{
    char why[96], size[32];
    _cleanup_free_ char *data = NULL;
    _cleanup_free_ char *b64 = NULL;
    _cleanup_close_ int dfd = -1;
    const char *base = strrchr(e->name, '/');
    size_t len;
    unsigned mode;
    int r;

    if (b->files_left == 0) {
        snprintf(why, sizeof(why), "more than %zu files", b->max_files);
        return entry_json(e->name, e->size, NULL, NULL, why);
    }
    human_bytes(size, sizeof(size), b->max_bytes);
    snprintf(why, sizeof(why), "over the %s total", size);
    if (e->size > b->bytes_left)
        return entry_json(e->name, e->size, NULL, NULL, why);
    if ((dfd = open_beneath(top, e->name)) < 0)
        r = dfd;
    else
        r = read_regular(dfd, base ? base + 1 : e->name, b->bytes_left, &data, &len, &mode);
    if (r == -EFBIG)
        return entry_json(e->name, e->size, NULL, NULL, why);
    if (r == -ENODATA || r == -ELOOP || r == -ENOTDIR)
        return entry_json(e->name, 0, NULL, NULL, "not a regular file");
    if (r < 0) {
        snprintf(why, sizeof(why), "unreadable: %s", strerror(-r));
        return entry_json(e->name, e->size, NULL, NULL, why);
    }
    json_t *content = (b64 = base64_encode(data, len)) ? json_string(b64) : NULL;
    if (!content)
        return NULL;
    b->files_left--;
    b->bytes_left -= len;
    return entry_json(e->name, len, mime_type(e->name, data, len), content, NULL);
}

static json_t *out_json(int top, struct out_list *l, const struct job_out_limits *lim)
{
    struct out_budget b = {
            .max_files = lim && lim->max_files ? lim->max_files : OUT_MAX_FILES,
            .max_bytes = lim && lim->max_bytes ? lim->max_bytes : OUT_MAX_BYTES,
    };
    json_t *arr = json_array(), *e;
    size_t listed = l->n < OUT_MAX_LISTED ? l->n : OUT_MAX_LISTED;

    b.files_left = b.max_files;
    b.bytes_left = b.max_bytes;
    for (size_t i = 0; arr && i < listed; i++) {
        const struct out_entry *oe = &l->v[i];
        e = oe->kind == WALK_FILE ? file_json(top, oe, &b)
                                  : entry_json(oe->name, 0, NULL, NULL, kind_omitted(oe->kind));
        if (!e || json_array_append_new(arr, e) < 0)
            arr = (json_decref(arr), NULL);
    }
    if (arr && (l->n > listed || l->cut)) {
        char why[64];
        if (l->cut)
            snprintf(why, sizeof(why), "more entries not listed");
        else
            snprintf(why, sizeof(why), "%zu more entries not listed", l->n - listed);
        e = entry_json(NULL, 0, NULL, NULL, why);
        if (!e || json_array_append_new(arr, e) < 0)
            arr = (json_decref(arr), NULL);
    }
    return arr;
}

json_t *job_out_files(const char *dir, const struct job_out_limits *lim)
{
    _cleanup_close_ int top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    _cleanup_close_ int out = -1;
    struct out_list l = {0};
    json_t *arr = NULL;
    int r;

    if (top < 0)
        return NULL;
    out = openat(top, JOB_OUT_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (out < 0)
        return NULL;
    r = walk(out, out_visit, &l);
    if (r == -EFBIG)
        l.cut = true;
    if (r == 0 || r == -EFBIG) {
        if (l.n > 1)
            qsort(l.v, l.n, sizeof(*l.v), cmp_out);
        arr = out_json(out, &l, lim);
    }
    out_list_done(&l);
    return arr;
}
