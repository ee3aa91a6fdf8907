/* The browser page's static files. A request's raw path is decoded and checked here (the front
 * end hands it over as sent: decoding NUL, or "%2F" into a separator, before we see it would
 * hide them), then opened beneath the web directory's fd (opened again when the directory is
 * replaced), without following any symlink, and sent from the fd: Pyodide's runtime is 10 MB,
 * and no file is held in memory. Every file and page carries the cross-origin isolation
 * headers: the page's in-browser runs wait on a SharedArrayBuffer for stdin, which browsers
 * allow only on a cross-origin isolated page. A refusal is the API's 404 JSON error.
 *
 * Transfer: web/build.mjs writes a brotli (NAME.br) and a gzip (NAME.gz) sibling beside every
 * file that compresses. A request's Accept-Encoding picks one (br, then gzip, then the file
 * itself; a coding with q=0 is never sent, and without the header nothing is encoded); a
 * sibling older than its file is ignored (a file replaced by hand is never shadowed by a stale
 * copy). Names with a content hash (main-7KQ2XBQA.js) and files below a version directory
 * (pyodide/0.25.1/) never change: they are cached a year, immutable. Every other name
 * (index.html first) is "no-cache": the browser asks again each time, and an unchanged file's
 * ETag answers 304. */
#include "server/web.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "server/front.h"
#include "server/http.h"
#include "server/server-int.h"

#define WEB_FALLBACK_DIR "/usr/share/runbox/web"

/* The page's Content-Security-Policy, on every HTML answer. What each part is for:
 * script-src 'wasm-unsafe-eval': compiling WebAssembly (the WASI and Go runtimes, Pyodide);
 * worker-src blob:: the in-browser runtimes' Web Workers; connect-src ws: wss:: the interactive
 * WebSocket; img-src data: blob:: images a program wrote (files out) shown inline;
 * style-src 'unsafe-inline': the editor (CodeMirror) sets style attributes; form-action 'self':
 * no form (a course README's, say) posts anywhere else. Everything else comes from runbox itself.
 * The page's engineers own this list: change it with them. */
static const char WEB_CSP[] =
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; "
        "connect-src 'self' ws: wss:; img-src 'self' data: blob:; "
        "style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'";

/* Headers on every answer of this module: cross-origin isolation (COOP + COEP, so the page gets
 * SharedArrayBuffer), no embedding by other origins, no MIME sniffing, no referrer. */
static const char *const web_headers[][2] = {
        {"Cross-Origin-Opener-Policy", "same-origin"},
        {"Cross-Origin-Embedder-Policy", "require-corp"},
        {"Cross-Origin-Resource-Policy", "same-origin"},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
};

static const char NOT_BUILT_HTML[] =
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>runbox</title>"
        "</head>\n<body><h1>runbox</h1>\n<p>The browser page is not built. Build it with "
        "<code>bash web/build.sh</code> (it needs node and npm) and reload: no restart is "
        "needed. Or start <code>runbox serve --web DIR</code> with a built page.</p>\n"
        "<p>The API works without it: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json"
        "</a>.</p></body></html>\n";

struct web {
    pthread_rwlock_t lock; /* over dir_fd: read to open files beneath it, write to replace it */
    int dir_fd;            /* the web directory (O_PATH), or -1 when there is none */
    char path[PATH_MAX];   /* its name: for messages, and to open it again */
};

/*** Paths ***/

/* "/r/{share_id}": a share link (1 to 64 base64url characters; the page asks the API whether
 * it names a shared run). */
static bool is_run_page(const char *raw)
{
    size_t n;

    if (strncmp(raw, "/r/", 3) != 0)
        return false;
    raw += 3;
    n = strspn(raw, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
    return n > 0 && n <= 64 && raw[n] == '\0';
}

/* Percent-decode @raw (after its leading '/') into @out, once. */
static int decode(const char *raw, char *out, size_t len)
{
    size_t n = 0;

    for (const char *p = raw; *p; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int hi = hex_digit(p[1]), lo = hi < 0 ? -1 : hex_digit(p[2]);
            if (lo < 0)
                return -EINVAL;
            c = hi * 16 + lo;
            p += 2;
        }
        if (c == '\0' || c < 0x20 || c == 0x7f || c == '\\')
            return -EINVAL;
        if (n + 1 >= len)
            return -ENAMETOOLONG;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}

/* Every segment of @path is non-empty and does not start with '.'. */
static bool segments_are_safe(const char *path)
{
    const char *s = path;

    for (;;) {
        if (*s == '\0' || *s == '/' || *s == '.')
            return false;
        s = strchr(s, '/');
        if (!s)
            return true;
        s++;
    }
}

int web_path_resolve(const char *raw, char *buf, size_t len)
{
    char out[WEB_MAX_PATH + 1];
    int r;

    if (raw[0] != '/')
        return -EINVAL;
    if (strcmp(raw, "/") == 0 || is_run_page(raw)) {
        if (len < sizeof("index.html"))
            return -ENAMETOOLONG;
        memcpy(buf, "index.html", sizeof("index.html"));
        return 0;
    }
    if ((r = decode(raw + 1, out, sizeof(out))) < 0)
        return r;
    if (!segments_are_safe(out))
        return -EINVAL;
    if (strlen(out) + 1 > len)
        return -ENAMETOOLONG;
    memcpy(buf, out, strlen(out) + 1);
    return 0;
}

/*** MIME types ***/

static const char *const mime_types[][2] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"json", "application/json"},
        {"map", "application/json"},
        {"wasm", "application/wasm"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"ico", "image/x-icon"},
        {"zip", "application/zip"},
        {"whl", "application/zip"},
        {"tar", "application/x-tar"},
        {"gz", "application/gzip"},
        {"txt", "text/plain; charset=utf-8"},
        {"md", "text/markdown; charset=utf-8"},
        {"py", "text/x-python; charset=utf-8"},
        {"woff2", "font/woff2"},
        {"woff", "font/woff"},
        {"ttf", "font/ttf"},
        {"otf", "font/otf"},
        {"xml", "application/xml"},
        {"webmanifest", "application/manifest+json"},
};

const char *web_mime_type(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash + 1 : name, '.');

    for (size_t i = 0; dot && i < ARRAY_SIZE(mime_types); i++)
        if (strcasecmp(dot + 1, mime_types[i][0]) == 0)
            return mime_types[i][1];
    return "application/octet-stream";
}

static bool is_html(const char *mime)
{
    return strncmp(mime, "text/html", 9) == 0;
}

/*** Caching ***/

/* Does the last segment of @name carry a content hash, as web/build.mjs names its bundles:
 * "-" and 8 characters of [A-Z0-9] (esbuild's [hash]) before a ".": main-7KQ2XBQA.js,
 * main-7KQ2XBQA.js.map? */
static bool has_content_hash(const char *name)
{
    const char *base = strrchr(name, '/');

    for (const char *p = strchr(base ? base + 1 : name, '-'); p; p = strchr(p + 1, '-')) {
        size_t n = strspn(p + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        if (n == 8 && p[9] == '.')
            return true;
    }
    return false;
}

/* Is a directory of @name a version (digits and dots, with a dot: pyodide/0.25.1/...)? */
static bool is_below_version(const char *name)
{
    for (const char *s = name, *slash; (slash = strchr(s, '/')); s = slash + 1) {
        size_t n = (size_t)(slash - s);
        if (n > 0 && s[0] >= '0' && s[0] <= '9' && strspn(s, "0123456789.") == n &&
            memchr(s, '.', n))
            return true;
    }
    return false;
}

/* A file that never changes under its name is cached for good; any other is checked again on
 * every use (its ETag makes that a 304). */
static const char *cache_control(const char *name)
{
    if (has_content_hash(name) || is_below_version(name))
        return "public, max-age=31536000, immutable";
    return "no-cache";
}

/*** The directory ***/

/* <dir of /proc/self/exe>/../web/dist, into @buf: where a build directory's runbox finds the
 * page built in its source tree. */
static int default_dir(char *buf, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n <= 0)
        return -errno;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -EINVAL;
    *slash = '\0';
    if (snprintf(buf, len, "%s/../web/dist", exe) >= (int)len)
        return -ENAMETOOLONG;
    return access(buf, F_OK) == 0 ? 0 : -ENOENT;
}

struct web *web_new(const char *dir)
{
    struct web *w = calloc(1, sizeof(*w));
    char def[PATH_MAX];

    if (!w)
        return NULL;
    if (pthread_rwlock_init(&w->lock, NULL) != 0) {
        free(w);
        return NULL;
    }
    if (!dir)
        dir = default_dir(def, sizeof(def)) == 0 ? def : WEB_FALLBACK_DIR;
    _cleanup_free_ char *real = realpath(dir, NULL);
    snprintf(w->path, sizeof(w->path), "%s", real ? real : dir);
    w->dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (w->dir_fd < 0)
        fprintf(stderr,
                "runbox: the browser page is not built ('%s': %s): `bash web/build.sh` builds "
                "it; the API works without it\n",
                w->path, strerror(errno));
    else
        fprintf(stderr, "runbox: the browser page is served from '%s'\n", w->path);
    return w;
}

struct web *web_free(struct web *w)
{
    if (w) {
        if (w->dir_fd >= 0)
            (void)close(w->dir_fd);
        (void)pthread_rwlock_destroy(&w->lock);
        free(w);
    }
    return NULL;
}

/* Is the directory fd stale: none yet, or no longer the directory its name names (web/build.sh
 * removes dist/ and makes a new one while the server runs; a deploy may rename a new one into
 * place)? Under the read lock. */
static bool dir_is_stale(const struct web *w)
{
    struct stat named, held;

    if (stat(w->path, &named) < 0)
        return w->dir_fd >= 0;
    return w->dir_fd < 0 || fstat(w->dir_fd, &held) < 0 || held.st_ino != named.st_ino ||
           held.st_dev != named.st_dev;
}

/* Take the read lock on a current directory fd: a stale one is opened again by its name first
 * (-1 while there is none). Files already being sent keep their own fds. */
static void lock_dir(struct web *w)
{
    (void)pthread_rwlock_rdlock(&w->lock);
    if (!dir_is_stale(w))
        return;
    (void)pthread_rwlock_unlock(&w->lock);
    (void)pthread_rwlock_wrlock(&w->lock);
    if (dir_is_stale(w)) {
        if (w->dir_fd >= 0)
            (void)close(w->dir_fd);
        w->dir_fd = open(w->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    (void)pthread_rwlock_unlock(&w->lock);
    (void)pthread_rwlock_rdlock(&w->lock);
}

/*** Answers ***/

static void add_common_headers(struct req *rq, const char *mime)
{
    for (size_t i = 0; i < ARRAY_SIZE(web_headers); i++)
        front_reply_header(rq->fc, web_headers[i][0], web_headers[i][1]);
    if (mime && is_html(mime))
        front_reply_header(rq->fc, "Content-Security-Policy", WEB_CSP);
}

static int reply_not_built(struct req *rq)
{
    rq->status = 200;
    front_reply_start(rq->fc, 200);
    front_reply_header(rq->fc, "Content-Type", "text/html; charset=utf-8");
    front_reply_header(rq->fc, "Cache-Control", "no-store");
    add_common_headers(rq, "text/html");
    (void)front_reply_write(rq->fc, NOT_BUILT_HTML, sizeof(NOT_BUILT_HTML) - 1);
    return 0;
}

/* Does the If-None-Match header @inm name @etag ("*", or a list of tags, weak or not)? */
static bool etag_matches(const char *inm, const char *etag)
{
    size_t n = strlen(etag);

    while (inm && *inm) {
        inm += strspn(inm, " \t,");
        if (*inm == '*')
            return true;
        if (strncmp(inm, "W/", 2) == 0)
            inm += 2;
        if (strncmp(inm, etag, n) == 0 && (inm[n] == '\0' || strchr(" \t,", inm[n])))
            return true;
        inm = strchr(inm, ',');
    }
    return false;
}

/* Open @name beneath the web directory: no "..", no absolute path, no symlink anywhere on the
 * way, and O_NONBLOCK so that a FIFO cannot hold the thread (it is refused after fstat). */
static int open_beneath(const struct web *w, const char *name)
{
    struct open_how how = {
            .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    int fd = (int)syscall(SYS_openat2, w->dir_fd, name, &how, sizeof(how));

    return fd < 0 ? -errno : fd;
}

/*** Content negotiation ***/

/* The precompressed siblings, in the order of preference when the client's q-values tie. */
static const struct coding {
    const char *token;  /* in Accept-Encoding and Content-Encoding */
    const char *suffix; /* of the sibling file */
} codings[] = {
        {"br", ".br"},
        {"gzip", ".gz"},
};

/* The q-value, in thousandths, of one Accept-Encoding element's parameters @p (up to @end). */
static int parse_q(const char *p, const char *end)
{
    while (p < end) {
        p += strspn(p, " \t;");
        if (p + 2 <= end && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            int q = 0, scale = 1000;
            p += 2;
            if (p < end && *p == '1')
                return 1000;
            if (p < end && *p == '0')
                p++;
            if (p < end && *p == '.')
                for (p++; p < end && *p >= '0' && *p <= '9' && scale > 1; p++)
                    q += (*p - '0') * (scale /= 10);
            return q;
        }
        const char *semi = memchr(p, ';', (size_t)(end - p));
        p = semi ? semi + 1 : end;
    }
    return 1000;
}

/* The q-value (thousandths) that the Accept-Encoding header @ae gives @token: its own element's,
 * else "*"'s when @star_counts, else -1 (not named: not acceptable, except identity). */
static int coding_q(const char *ae, const char *token, bool star_counts)
{
    size_t tlen = strlen(token);
    int star = -1;

    for (const char *p = ae; p && *p;) {
        p += strspn(p, " \t,");
        const char *end = p + strcspn(p, ",");
        size_t n = strcspn(p, " \t;,");
        if (n == tlen && strncasecmp(p, token, n) == 0)
            return parse_q(p + n, end);
        if (n == 1 && *p == '*' && star_counts)
            star = parse_q(p + n, end);
        p = end;
    }
    return star;
}

/* Is @name itself a precompressed sibling (sent as it is, never encoded again)? */
static bool is_precompressed(const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < ARRAY_SIZE(codings); i++) {
        size_t k = strlen(codings[i].suffix);
        if (n > k && strcmp(name + n - k, codings[i].suffix) == 0)
            return true;
    }
    return false;
}

/* Open @name's sibling for @c, when it is a regular file at least as new as @st's. */
static int open_sibling(const struct web *w, const char *name, const struct coding *c,
                        const struct stat *st, struct stat *ret_st)
{
    char sib[WEB_MAX_PATH + 8];
    struct stat s;

    if (snprintf(sib, sizeof(sib), "%s%s", name, c->suffix) >= (int)sizeof(sib))
        return -ENAMETOOLONG;
    int fd = open_beneath(w, sib);
    if (fd < 0)
        return fd;
    if (fstat(fd, &s) < 0 || !S_ISREG(s.st_mode) || s.st_mtim.tv_sec < st->st_mtim.tv_sec ||
        (s.st_mtim.tv_sec == st->st_mtim.tv_sec && s.st_mtim.tv_nsec < st->st_mtim.tv_nsec)) {
        (void)close(fd);
        return -ENOENT;
    }
    *ret_st = s;
    return fd;
}

/* The coding to send @name in for the request's Accept-Encoding, with its sibling's fd in
 * *@ret_fd and stat in *@ret_st; NULL (identity) when the client takes none that is there, or
 * names identity with a higher q. Under the read lock. */
static const struct coding *negotiate(const struct web *w, const char *ae, const char *name,
                                      const struct stat *st, int *ret_fd, struct stat *ret_st)
{
    const struct coding *best = NULL;
    /* Identity named (not through "*") with a higher q than a coding is preferred to it;
     * unnamed, it comes after any accepted coding. */
    int best_q = coding_q(ae, "identity", false);

    *ret_fd = -1;
    if (!ae || is_precompressed(name))
        return NULL;
    for (size_t i = 0; i < ARRAY_SIZE(codings); i++) {
        int q = coding_q(ae, codings[i].token, true);
        struct stat s;
        if (q <= 0 || q <= best_q)
            continue;
        int fd = open_sibling(w, name, &codings[i], st, &s);
        if (fd < 0)
            continue;
        if (*ret_fd >= 0)
            (void)close(*ret_fd);
        *ret_fd = fd;
        *ret_st = s;
        best = &codings[i];
        best_q = q;
    }
    return best;
}

/*** The answer ***/

/* Answer the file @fd (taken over), with @st its stat, or its sibling @zfd (taken over, -1 for
 * none) in coding @c. The ETag is the file's, with the coding added: each representation has
 * its own. */
static int reply_file(struct req *rq, const char *name, int fd, const struct stat *st,
                      const struct coding *c, int zfd, const struct stat *zst)
{
    const char *mime = web_mime_type(name);
    char etag[80];

    snprintf(etag, sizeof(etag), "\"%llx-%llx%s%s\"", (unsigned long long)st->st_size,
             (unsigned long long)st->st_mtim.tv_sec * 1000000000ull +
                     (unsigned long long)st->st_mtim.tv_nsec,
             c ? "-" : "", c ? c->token : "");
    rq->status = etag_matches(http_header(rq, "If-None-Match"), etag) ? 304 : 200;
    front_reply_start(rq->fc, rq->status);
    if (rq->status == 200)
        front_reply_header(rq->fc, "Content-Type", mime);
    if (rq->status == 200 && c)
        front_reply_header(rq->fc, "Content-Encoding", c->token);
    front_reply_header(rq->fc, "Vary", "Accept-Encoding");
    front_reply_header(rq->fc, "ETag", etag);
    front_reply_header(rq->fc, "Cache-Control", cache_control(name));
    add_common_headers(rq, mime);
    if (rq->status == 304) {
        (void)close(fd);
        if (zfd >= 0)
            (void)close(zfd);
        return 0;
    }
    if (zfd >= 0) {
        (void)close(fd);
        return front_reply_fd(rq->fc, zfd, zst->st_size);
    }
    return front_reply_fd(rq->fc, fd, st->st_size);
}

static int not_found(struct req *rq, const char *why)
{
    (void)http_reply_error(rq, 404, "", "%s", why);
    return 0;
}

int web_serve(struct req *rq)
{
    struct web *w = rq->srv->web;
    const char *raw = rq->fr->path, *method = http_method(rq);
    char name[WEB_MAX_PATH + 1];

    if (!raw || !w || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0))
        return -ENOENT;
    /* Unknown API paths get the API's own 404, never a file or the page. */
    if (strncmp(raw, "/api/", 5) == 0 || strcmp(raw, "/api") == 0)
        return -ENOENT;
    if (web_path_resolve(raw, name, sizeof(name)) < 0)
        return not_found(rq, "no such file");
    lock_dir(w);
    bool built = w->dir_fd >= 0;
    int fd = built ? open_beneath(w, name) : -ENOENT, zfd = -1;
    struct stat st, zst;
    const struct coding *c = NULL;
    bool regular = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (regular)
        c = negotiate(w, http_header(rq, "Accept-Encoding"), name, &st, &zfd, &zst);
    (void)pthread_rwlock_unlock(&w->lock);
    if (!built)
        return strcmp(name, "index.html") == 0 ? reply_not_built(rq)
                                               : not_found(rq, "no such file (no page is built)");
    if (fd == -ENOSYS) {
        (void)http_reply_error(rq, 500, "", "this kernel has no openat2(): no files are served");
        return 0;
    }
    if (fd < 0)
        return not_found(rq, "no such file");
    if (!regular) {
        (void)close(fd);
        return not_found(rq, "no such file");
    }
    (void)reply_file(rq, name, fd, &st, c, zfd, &zst);
    return 0;
}
