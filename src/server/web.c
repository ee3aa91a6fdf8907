/* The browser page's static files. A request's raw path is decoded and checked here (the front
 * end hands it over as sent: decoding NUL, or "%2F" into a separator, before we see it would
 * hide them), then opened beneath the web directory's fd (opened again when the directory is
 * replaced), without following any symlink, and sent from the fd: Pyodide's runtime is 10 MB,
 * and no file is held in memory. Every file and page carries the cross-origin isolation
 * headers: the page's in-browser runs wait on a SharedArrayBuffer for stdin, which browsers
 * allow only on a cross-origin isolated page. A refusal is the API's 404 JSON error. */
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

/* Answer the file @fd (taken over). */
static int reply_file(struct req *rq, const char *name, int fd, const struct stat *st)
{
    const char *mime = web_mime_type(name);
    char etag[64];
    bool index = strcmp(name, "index.html") == 0;

    snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)st->st_size,
             (unsigned long long)st->st_mtim.tv_sec * 1000000000ull +
                     (unsigned long long)st->st_mtim.tv_nsec);
    rq->status = etag_matches(http_header(rq, "If-None-Match"), etag) ? 304 : 200;
    front_reply_start(rq->fc, rq->status);
    if (rq->status == 200)
        front_reply_header(rq->fc, "Content-Type", mime);
    front_reply_header(rq->fc, "ETag", etag);
    front_reply_header(rq->fc, "Cache-Control", index ? "no-cache" : "public, max-age=3600");
    add_common_headers(rq, mime);
    if (rq->status == 304) {
        (void)close(fd);
        return 0;
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
    int fd = built ? open_beneath(w, name) : -ENOENT;
    (void)pthread_rwlock_unlock(&w->lock);
    if (!built)
        return strcmp(name, "index.html") == 0 ? reply_not_built(rq)
                                               : not_found(rq, "no such file (no page is built)");
    struct stat st;
    if (fd == -ENOSYS) {
        (void)http_reply_error(rq, 500, "", "this kernel has no openat2(): no files are served");
        return 0;
    }
    if (fd < 0)
        return not_found(rq, "no such file");
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        (void)close(fd);
        return not_found(rq, "no such file");
    }
    (void)reply_file(rq, name, fd, &st);
    return 0;
}
