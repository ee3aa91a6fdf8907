/* Image import, listing and removal. The theory of operation is at the top of image.h. */
#include "image/image.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "common/lazylib.h"
#include "image/image-int.h"

/* libarchive is loaded by the first import (common/lazylib.h): runs never map it. */
#define ARCHIVE_SYMS(X)                \
    X(archive_entry_filetype)          \
    X(archive_entry_hardlink)          \
    X(archive_entry_pathname)          \
    X(archive_entry_perm)              \
    X(archive_entry_size)              \
    X(archive_entry_size_is_set)       \
    X(archive_entry_symlink)           \
    X(archive_error_string)            \
    X(archive_filter_bytes)            \
    X(archive_read_data)               \
    X(archive_read_data_block)         \
    X(archive_read_free)               \
    X(archive_read_new)                \
    X(archive_read_next_header)        \
    X(archive_read_open)               \
    X(archive_read_open_filename)      \
    X(archive_read_support_filter_all) \
    X(archive_read_support_format_raw) \
    X(archive_read_support_format_tar) \
    X(archive_set_error)
LAZYLIB_DEFINE(libarchive, RUNBOX_SONAME_ARCHIVE, ARCHIVE_SYMS);

#define MAX_JSON_BYTES  (4u << 20) /* manifest, index, config */
#define MAX_MEMBER_PATH 1024
#define READ_BLOCK      (64u << 10)

int image__failf(char *err, size_t len, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return r;
}

bool image_name_is_valid(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > IMAGE_NAME_MAX || !isalnum((unsigned char)name[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) &&
            !strchr("._-", name[i]))
            return false;
    return true;
}

/*** Parsing manifests and configs ***/

void image__plan_done(struct image__plan *p)
{
    if (!p)
        return;
    free(p->config);
    for (size_t i = 0; i < p->n_layers; i++)
        free(p->layers[i]);
    free(p->layers);
    free(p->layer_digests);
    free(p->ref);
    *p = (struct image__plan){0};
}

static bool is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
            return false;
    return true;
}

/* A member path we agree to look for: relative, no "..", not too long. */
static bool member_path_ok(const char *p)
{
    if (!p[0] || p[0] == '/' || strlen(p) > MAX_MEMBER_PATH)
        return false;
    for (const char *s = p; s; s = strchr(s, '/'), s = s ? s + 1 : NULL)
        if (strncmp(s, "..", 2) == 0 && (s[2] == '/' || s[2] == '\0'))
            return false;
    return true;
}

/* The digest a member's path names: blobs/sha256/HEX or HEX.json; "" when none. */
static void digest_from_path(const char *p, char out[IMAGE__HEX_LEN])
{
    char hex[IMAGE__HEX_LEN] = "";

    if (strncmp(p, "blobs/sha256/", 13) == 0)
        snprintf(hex, sizeof(hex), "%s", p + 13);
    else if (strlen(p) == 69 && strcmp(p + 64, ".json") == 0)
        snprintf(hex, sizeof(hex), "%.64s", p);
    snprintf(out, IMAGE__HEX_LEN, "%s", is_hex64(hex) && strlen(p) <= 77 ? hex : "");
}

/* "sha256:HEX" into @out; false when it is not one. */
static bool parse_digest(json_t *d, char out[IMAGE__HEX_LEN])
{
    const char *s = json_string_value(d);

    if (!s || strncmp(s, "sha256:", 7) != 0 || !is_hex64(s + 7))
        return false;
    memcpy(out, s + 7, IMAGE__HEX_LEN);
    return true;
}

static int plan_alloc_layers(struct image__plan *p, size_t n)
{
    p->layers = calloc(n, sizeof(*p->layers));
    p->layer_digests = calloc(n, sizeof(*p->layer_digests));
    return p->layers && p->layer_digests ? 0 : -ENOMEM;
}

static json_t *load_json(const char *json, size_t len, const char *what, char *err, size_t errlen)
{
    json_error_t je;
    json_t *j = json_load_bounded(json, len, JSON_REJECT_DUPLICATES, &je);

    if (!j)
        image__failf(err, errlen, -EINVAL, "%s: line %d: %s", what, je.line, je.text);
    return j;
}

static int docker_layers(json_t *layers, struct image__plan *p, char *err, size_t errlen)
{
    size_t n = json_array_size(layers), i;
    json_t *v;

    if (!json_is_array(layers) || n == 0 || n > IMAGE_MAX_LAYERS)
        return image__failf(err, errlen, -EINVAL, "manifest.json: Layers: 1 to %d member paths",
                            IMAGE_MAX_LAYERS);
    if (plan_alloc_layers(p, n) < 0)
        return -ENOMEM;
    json_array_foreach(layers, i, v)
    {
        const char *s = json_string_value(v);

        if (!s || !member_path_ok(s))
            return image__failf(err, errlen, -EINVAL,
                                "manifest.json: Layers[%zu]: a bad member path", i);
        p->layers[i] = xstrdup(s);
        p->n_layers = i + 1;
        digest_from_path(s, p->layer_digests[i]);
    }
    return 0;
}

int image__parse_docker_manifest(const char *json, size_t len, struct image__plan *ret, char *err,
                                 size_t errlen)
{
    struct image__plan p = {0};
    json_t *m = load_json(json, len, "manifest.json", err, errlen), *o, *tags;
    const char *cfg;
    int r;

    if (!m)
        return -EINVAL;
    o = json_array_get(m, 0);
    if (!json_is_array(m) || json_array_size(m) != 1 || !json_is_object(o)) {
        json_decref(m);
        return image__failf(err, errlen, -EINVAL,
                            "manifest.json: not an array of exactly one image");
    }
    cfg = json_string_value(json_object_get(o, "Config"));
    if (!cfg || !member_path_ok(cfg)) {
        json_decref(m);
        return image__failf(err, errlen, -EINVAL, "manifest.json: Config: a bad member path");
    }
    p.config = xstrdup(cfg);
    digest_from_path(cfg, p.config_digest);
    r = docker_layers(json_object_get(o, "Layers"), &p, err, errlen);
    tags = json_object_get(o, "RepoTags");
    if (r == 0 && json_is_string(json_array_get(tags, 0)))
        p.ref = xstrdup(json_string_value(json_array_get(tags, 0)));
    json_decref(m);
    if (r < 0) {
        image__plan_done(&p);
        return r;
    }
    *ret = p;
    return 0;
}

static bool is_manifest_type(const char *t)
{
    return !t || strcmp(t, "application/vnd.oci.image.manifest.v1+json") == 0 ||
           strcmp(t, "application/vnd.docker.distribution.manifest.v2+json") == 0;
}

int image__parse_oci_index(const char *json, size_t len, char ret_digest[IMAGE__HEX_LEN],
                           char **ret_ref, char *err, size_t errlen)
{
    json_t *x = load_json(json, len, "index.json", err, errlen), *d, *ref;
    char hex[IMAGE__HEX_LEN];
    int r = 0;

    if (!x)
        return -EINVAL;
    d = json_array_get(json_object_get(x, "manifests"), 0);
    if (!json_is_object(x) || !json_is_object(d))
        r = image__failf(err, errlen, -EINVAL, "index.json: manifests: no image manifest");
    else if (!is_manifest_type(json_string_value(json_object_get(d, "mediaType"))))
        r = image__failf(
                err, errlen, -EINVAL,
                "index.json: manifests[0]: not an image manifest (a multi-platform index?)");
    else if (!parse_digest(json_object_get(d, "digest"), hex))
        r = image__failf(err, errlen, -EINVAL, "index.json: manifests[0].digest: not sha256:HEX");
    if (r == 0) {
        ref = json_object_get(json_object_get(d, "annotations"),
                              "org.opencontainers.image.ref.name");
        if (!json_is_string(ref))
            ref = json_object_get(json_object_get(d, "annotations"), "io.containerd.image.name");
        memcpy(ret_digest, hex, sizeof(hex));
        *ret_ref = json_is_string(ref) ? xstrdup(json_string_value(ref)) : NULL;
    }
    json_decref(x);
    return r;
}

static int oci_descriptor(json_t *d, const char *what, char **ret_path, char hex[IMAGE__HEX_LEN],
                          char *err, size_t errlen)
{
    char path[13 + IMAGE__HEX_LEN];

    if (!json_is_object(d) || !parse_digest(json_object_get(d, "digest"), hex))
        return image__failf(err, errlen, -EINVAL, "manifest: %s: no sha256:HEX digest", what);
    snprintf(path, sizeof(path), "blobs/sha256/%s", hex);
    *ret_path = xstrdup(path);
    return 0;
}

int image__parse_oci_manifest(const char *json, size_t len, struct image__plan *ret, char *err,
                              size_t errlen)
{
    struct image__plan p = {0};
    json_t *m = load_json(json, len, "manifest", err, errlen), *layers, *v;
    size_t i, n;
    int r;

    if (!m)
        return -EINVAL;
    layers = json_object_get(m, "layers");
    n = json_array_size(layers);
    r = oci_descriptor(json_object_get(m, "config"), "config", &p.config, p.config_digest, err,
                       errlen);
    if (r == 0 && (n == 0 || n > IMAGE_MAX_LAYERS))
        r = image__failf(err, errlen, -EINVAL, "manifest: layers: 1 to %d descriptors",
                         IMAGE_MAX_LAYERS);
    if (r == 0)
        r = plan_alloc_layers(&p, n);
    json_array_foreach(layers, i, v)
    {
        char what[32];

        if (r < 0)
            break;
        snprintf(what, sizeof(what), "layers[%zu]", i);
        r = oci_descriptor(v, what, &p.layers[i], p.layer_digests[i], err, errlen);
        if (r == 0)
            p.n_layers = i + 1;
    }
    json_decref(m);
    if (r < 0) {
        image__plan_done(&p);
        return r;
    }
    *ret = p;
    return 0;
}

/* Copy the array of strings @v (or null when missing) into @out under @key. */
static int config_strings(json_t *v, const char *key, bool need_eq, json_t *out, char *err,
                          size_t errlen)
{
    json_t *s;
    size_t i;

    if (!v || json_is_null(v))
        return json_object_set_new(out, key, json_null()) < 0 ? -ENOMEM : 0;
    if (!json_is_array(v))
        return image__failf(err, errlen, -EINVAL, "config: %s: not an array of strings", key);
    json_array_foreach(v, i, s)
    {
        if (!json_is_string(s) || (need_eq && !strchr(json_string_value(s), '=')))
            return image__failf(err, errlen, -EINVAL, "config: %s[%zu]: not a%s string", key, i,
                                need_eq ? " NAME=VALUE" : "");
    }
    return json_object_set(out, key, v) < 0 ? -ENOMEM : 0;
}

static int config_string(json_t *v, const char *key, json_t *out, char *err, size_t errlen)
{
    if (v && !json_is_string(v) && !json_is_null(v))
        return image__failf(err, errlen, -EINVAL, "config: %s: not a string", key);
    return json_object_set_new(out, key,
                               json_string(json_is_string(v) ? json_string_value(v) : "")) < 0
                   ? -ENOMEM
                   : 0;
}

/* rootfs.diff_ids: "sha256:HEX" strings (an empty array when missing). */
static int config_diff_ids(json_t *v, json_t *out, char *err, size_t errlen)
{
    char hex[IMAGE__HEX_LEN];
    json_t *d;
    size_t i;

    if (v && !json_is_array(v) && !json_is_null(v))
        return image__failf(err, errlen, -EINVAL, "config: rootfs.diff_ids: not an array");
    json_array_foreach(v, i, d)
    {
        if (!parse_digest(d, hex))
            return image__failf(err, errlen, -EINVAL,
                                "config: rootfs.diff_ids[%zu]: not sha256:HEX", i);
    }
    if (json_array_size(v) > IMAGE_MAX_LAYERS)
        return image__failf(err, errlen, -EINVAL, "config: rootfs.diff_ids: over %d",
                            IMAGE_MAX_LAYERS);
    return json_object_set_new(out, "diff_ids", json_is_array(v) ? json_copy(v) : json_array()) < 0
                   ? -ENOMEM
                   : 0;
}

int image__parse_config(const char *json, size_t len, json_t **ret, char *err, size_t errlen)
{
    json_t *c = load_json(json, len, "config", err, errlen), *cc, *out;
    int r;

    if (!c)
        return -EINVAL;
    cc = json_object_get(c, "config");
    if (!json_is_object(c) || (cc && !json_is_object(cc) && !json_is_null(cc))) {
        json_decref(c);
        return image__failf(err, errlen, -EINVAL, "config: not an image config object");
    }
    out = json_object();
    if (!out) {
        json_decref(c);
        return -ENOMEM;
    }
    r = config_strings(json_object_get(cc, "Env"), "env", true, out, err, errlen);
    if (r == 0)
        r = config_string(json_object_get(cc, "WorkingDir"), "working_dir", out, err, errlen);
    if (r == 0)
        r = config_string(json_object_get(cc, "User"), "user", out, err, errlen);
    if (r == 0)
        r = config_strings(json_object_get(cc, "Cmd"), "cmd", false, out, err, errlen);
    if (r == 0)
        r = config_strings(json_object_get(cc, "Entrypoint"), "entrypoint", false, out, err,
                           errlen);
    if (r == 0)
        r = config_string(json_object_get(c, "created"), "created", out, err, errlen);
    if (r == 0)
        r = config_diff_ids(json_object_get(json_object_get(c, "rootfs"), "diff_ids"), out, err,
                            errlen);
    json_decref(c);
    if (r < 0) {
        json_decref(out);
        return r;
    }
    *ret = out;
    return 0;
}

/*** Removing trees, never through a symlink ***/

int image__opendir(int fd, DIR **ret)
{
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3), r;

    if (dup_fd < 0)
        return -errno;
    if (!(*ret = fdopendir(dup_fd))) {
        r = -errno;
        (void)close(dup_fd);
        return r;
    }
    return 0;
}

static int open_beneath(int dfd, const char *name, int flags)
{
    struct open_how how = {
            .flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    int fd = (int)syscall(SYS_openat2, dfd, name, &how, sizeof(how));

    return fd < 0 ? -errno : fd;
}

static int remove_at(int dfd, const char *name, int depth);

/* Remove what is in the directory @fd (whose path in the root is @path), except, with @keep,
 * the entries whose path is a key of @keep (directories among them are emptied the same way). */
static int empty_dir(int fd, const char *path, json_t *keep, int depth)
{
    DIR *d;
    struct dirent *de;
    int r = 0;

    if (depth > IMAGE_MAX_DEPTH + 2)
        return -ELOOP;
    if ((r = image__opendir(fd, &d)) < 0)
        return r;
    while (r == 0 && (errno = 0, de = readdir(d))) {
        char child[PATH_MAX];

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (keep &&
            snprintf(child, sizeof(child), "%s%s%s", path, path[0] ? "/" : "", de->d_name) <
                    (int)sizeof(child) &&
            json_object_get(keep, child)) {
            int sub = open_beneath(fd, de->d_name, O_DIRECTORY | O_RDONLY);

            if (sub >= 0) {
                r = empty_dir(sub, child, keep, depth + 1);
                (void)close(sub);
            }
            continue;
        }
        r = remove_at(fd, de->d_name, depth + 1);
    }
    if (r == 0 && errno)
        r = -errno;
    (void)closedir(d);
    return r;
}

/* Remove @name under @dfd, whatever it is; a directory with all it holds. 0 when missing. */
static int remove_at(int dfd, const char *name, int depth)
{
    int fd, r;

    if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR)
        return -errno;
    fd = open_beneath(dfd, name, O_DIRECTORY | O_RDONLY);
    if (fd < 0)
        return fd;
    (void)fchmod(fd, 0700);
    r = empty_dir(fd, "", NULL, depth);
    (void)close(fd);
    if (r == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        r = -errno;
    return r;
}

int image__open_beneath(int dfd, const char *name, int flags)
{
    return open_beneath(dfd, name, flags);
}

int image__remove_at(int dfd, const char *name)
{
    return remove_at(dfd, name, 0);
}

/*** Reading the archive ***/

static const char *strip_dot_slash(const char *p)
{
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    return p;
}

static int outer_open(const char *file, struct archive **ret, char *err, size_t errlen)
{
    struct archive *a;
    int r = lazylib_load(&libarchive);

    if (r < 0) {
        image__failf(err, errlen, r, "%s", libarchive.why);
        return r;
    }
    a = libarchive_api.archive_read_new();
    if (!a)
        return -ENOMEM;
    libarchive_api.archive_read_support_filter_all(a);
    libarchive_api.archive_read_support_format_tar(a);
    if (libarchive_api.archive_read_open_filename(a, file, READ_BLOCK) != ARCHIVE_OK) {
        image__failf(err, errlen, -EINVAL, "'%s': %s", file,
                     libarchive_api.archive_error_string(a));
        libarchive_api.archive_read_free(a);
        return -EINVAL;
    }
    *ret = a;
    return 0;
}

/* Open @file and move to its regular member @name: 0, -ENOENT when it has none, -EINVAL. */
static int outer_seek(const char *file, const char *name, struct archive **ret, char *err,
                      size_t errlen)
{
    struct archive *a;
    struct archive_entry *e;
    int r = outer_open(file, &a, err, errlen);

    if (r < 0)
        return r;
    while ((r = libarchive_api.archive_read_next_header(a, &e)) == ARCHIVE_OK ||
           r == ARCHIVE_WARN) {
        const char *p = libarchive_api.archive_entry_pathname(e);

        if (p && strcmp(strip_dot_slash(p), strip_dot_slash(name)) == 0 &&
            libarchive_api.archive_entry_filetype(e) == AE_IFREG) {
            *ret = a;
            return 0;
        }
    }
    if (r == ARCHIVE_EOF) {
        libarchive_api.archive_read_free(a);
        return -ENOENT;
    }
    image__failf(err, errlen, -EINVAL, "'%s': %s", file, libarchive_api.archive_error_string(a));
    libarchive_api.archive_read_free(a);
    return -EINVAL;
}

static void hex_of(const unsigned char *h, char out[IMAGE__HEX_LEN])
{
    for (size_t i = 0; i < crypto_hash_sha256_BYTES; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* Read the member @name (at most MAX_JSON_BYTES) into a NUL-terminated buffer, checking its
 * SHA-256 against @digest unless "". -ENOENT when missing (no message). */
static int read_member(const char *file, const char *name, const char *digest, char **ret,
                       size_t *ret_len, char *err, size_t errlen)
{
    _cleanup_free_ char *buf = malloc(MAX_JSON_BYTES + 1);
    struct archive *a;
    size_t len = 0;
    la_ssize_t n;
    int r;

    if (!buf)
        return -ENOMEM;
    r = outer_seek(file, name, &a, err, errlen);
    if (r < 0)
        return r;
    while ((n = libarchive_api.archive_read_data(a, buf + len, MAX_JSON_BYTES + 1 - len)) > 0 &&
           (len += (size_t)n) <= MAX_JSON_BYTES)
        ;
    if (n < 0)
        r = image__failf(err, errlen, -EINVAL, "'%s': %s: %s", file, name,
                         libarchive_api.archive_error_string(a));
    else if (len > MAX_JSON_BYTES)
        r = image__failf(err, errlen, -EFBIG, "%s: over %u bytes", name, MAX_JSON_BYTES);
    libarchive_api.archive_read_free(a);
    if (r == 0 && digest[0]) {
        unsigned char h[crypto_hash_sha256_BYTES];
        char hex[IMAGE__HEX_LEN];

        crypto_hash_sha256(h, (const unsigned char *)buf, len);
        hex_of(h, hex);
        if (strcmp(hex, digest) != 0)
            r = image__failf(err, errlen, -EBADMSG, "%s: its sha256 is %s, not %s", name, hex,
                             digest);
    }
    if (r < 0)
        return r;
    buf[len] = '\0';
    *ret = TAKE_PTR(buf);
    *ret_len = len;
    return 0;
}

/* The plan from manifest.json (docker save) or index.json and its manifest blob (OCI). */
static int read_plan(const char *file, struct image__plan *ret, char *err, size_t errlen)
{
    _cleanup_free_ char *json = NULL;
    size_t len;
    char hex[IMAGE__HEX_LEN], path[13 + IMAGE__HEX_LEN];
    char *ref = NULL;
    int r = read_member(file, "manifest.json", "", &json, &len, err, errlen);

    if (r == 0)
        return image__parse_docker_manifest(json, len, ret, err, errlen);
    if (r != -ENOENT)
        return r;
    r = read_member(file, "index.json", "", &json, &len, err, errlen);
    if (r == -ENOENT)
        return image__failf(err, errlen, -EINVAL,
                            "'%s': neither manifest.json (docker save) nor index.json (OCI layout)",
                            file);
    if (r == 0)
        r = image__parse_oci_index(json, len, hex, &ref, err, errlen);
    if (r < 0)
        return r;
    free(TAKE_PTR(json));
    snprintf(path, sizeof(path), "blobs/sha256/%s", hex);
    r = read_member(file, path, hex, &json, &len, err, errlen);
    if (r == -ENOENT)
        r = image__failf(err, errlen, -EINVAL, "index.json names '%s', which is not in the archive",
                         path);
    if (r == 0)
        r = image__parse_oci_manifest(json, len, ret, err, errlen);
    if (r == 0 && !ret->ref)
        ret->ref = TAKE_PTR(ref);
    free(ref);
    return r;
}

/*** Applying a layer ***/

struct import_ctx {
    int root_fd;        /* the staging rootfs/ */
    uint64_t bytes;     /* file data written so far */
    uint64_t entries;   /* entries seen so far */
    uint64_t skipped;   /* device nodes, FIFOs, sockets */
    uint64_t stripped;  /* setuid/setgid/sticky bits removed */
    json_t *written;    /* the paths the current layer wrote (a set) */
    const char *layer;  /* the current layer's member path */
    size_t layer_no;    /* and its number, from 1 */
    const char *entry;  /* the current entry's path as the tar gives it */
    bool (*stop)(void); /* asked before each entry, may be NULL */
    char *err;
    size_t errlen;
};

static int entry_fail(struct import_ctx *c, int r, const char *why)
{
    return image__failf(c->err, c->errlen, r, "layer %zu (%s): entry '%s': %s", c->layer_no,
                        c->layer, c->entry ? c->entry : "", why ? why : "unreadable");
}

/* @raw made "a/b/c" in @out: no empty or "." components. -EPERM for an absolute path, -EINVAL
 * for a ".." component, -ENAMETOOLONG past PATH_MAX or IMAGE_MAX_DEPTH components. */
static int clean_path(const char *raw, char *out, size_t len)
{
    size_t o = 0, depth = 0;
    const char *p = raw;

    if (raw[0] == '/')
        return -EPERM;
    while (*p) {
        const char *s = p;
        size_t n;

        while (*p && *p != '/')
            p++;
        n = (size_t)(p - s);
        if (*p)
            p++;
        if (n == 0 || (n == 1 && s[0] == '.'))
            continue;
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return -EINVAL;
        if (o + n + 2 > len || ++depth > IMAGE_MAX_DEPTH)
            return -ENAMETOOLONG;
        if (o)
            out[o++] = '/';
        memcpy(out + o, s, n);
        o += n;
    }
    out[o] = '\0';
    return 0;
}

static int path_fail(struct import_ctx *c, int r)
{
    return entry_fail(c, r,
                      r == -EPERM    ? "an absolute path"
                      : r == -EINVAL ? "a '..' component in the path"
                                     : "the path is too long or too deep");
}

/* Create the missing directories of @path (0755) under @root; returns an fd of the last one. */
static int mkdir_parents(int root, const char *path)
{
    char comp[NAME_MAX + 1];
    int fd = fcntl(root, F_DUPFD_CLOEXEC, 3);

    if (fd < 0)
        return -errno;
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        int next;

        if (n > NAME_MAX) {
            (void)close(fd);
            return -ENAMETOOLONG;
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        p += n + (p[n] == '/');
        if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
            next = -errno;
        } else {
            next = open_beneath(fd, comp, O_DIRECTORY | O_RDONLY);
        }
        (void)close(fd);
        if (next < 0)
            return next;
        fd = next;
    }
    return fd;
}

/* The directory holding the last component of @path (which is modified and restored), with
 * the component in *@ret_base. Never through a symlink; with @create, missing ones are made. */
static int open_parent(int root, char *path, bool create, const char **ret_base)
{
    char *slash = strrchr(path, '/');
    int fd;

    if (!slash) {
        *ret_base = path;
        fd = fcntl(root, F_DUPFD_CLOEXEC, 3);
        return fd < 0 ? -errno : fd;
    }
    *slash = '\0';
    fd = open_beneath(root, path, O_DIRECTORY | O_RDONLY);
    if (fd == -ENOENT && create)
        fd = mkdir_parents(root, path);
    *slash = '/';
    *ret_base = slash + 1;
    return fd;
}

static int parent_fail(struct import_ctx *c, int r)
{
    if (r == -ELOOP || r == -ENOTDIR || r == -EXDEV)
        return entry_fail(c, -EINVAL, "a parent directory is a symlink or not a directory");
    return entry_fail(c, r, strerror(-r));
}

/* ".wh.NAME" or ".wh..wh..opq" in the directory @dfd, whose path is @path up to @base. */
static int whiteout(struct import_ctx *c, int dfd, char *path, const char *base)
{
    const char *name = base + 4;
    char *slash = strrchr(path, '/');
    int r;

    if (slash)
        *slash = '\0';
    else
        path[0] = '\0';
    if (strcmp(base, ".wh..wh..opq") == 0) {
        r = empty_dir(dfd, path, c->written, 0);
    } else if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        r = entry_fail(c, -EINVAL, "a whiteout of nothing");
    } else {
        char target[PATH_MAX];

        snprintf(target, sizeof(target), "%s%s%s", path, path[0] ? "/" : "", name);
        r = json_object_get(c->written, target) ? 0 : remove_at(dfd, name, 0);
    }
    if (r < 0 && !strstr(c->err, "entry"))
        r = entry_fail(c, r, strerror(-r));
    return r;
}

static mode_t safe_mode(struct import_ctx *c, mode_t m, bool dir)
{
    mode_t bad = dir ? (S_ISUID | S_ISGID) : (S_ISUID | S_ISGID | S_ISVTX);

    if (m & bad)
        c->stripped++;
    m &= 07777 & ~bad;
    return dir ? m | 0700 : m;
}

static int make_dir(struct import_ctx *c, int dfd, const char *base, mode_t m)
{
    struct stat st;
    int fd, r = 0;

    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
        r = remove_at(dfd, base, 0);
    if (r == 0 && mkdirat(dfd, base, 0700) < 0 && errno != EEXIST)
        r = -errno;
    if (r < 0)
        return entry_fail(c, r, strerror(-r));
    fd = open_beneath(dfd, base, O_DIRECTORY | O_RDONLY);
    if (fd < 0)
        return entry_fail(c, fd, strerror(-fd));
    r = fchmod(fd, safe_mode(c, m, true)) < 0 ? -errno : 0;
    (void)close(fd);
    return r < 0 ? entry_fail(c, r, strerror(-r)) : 0;
}

/* Write the entry's data into @fd: at most @size bytes (sparse blocks at their offsets). */
static int write_data(struct import_ctx *c, struct archive *b, int fd, uint64_t size)
{
    const void *buf;
    size_t len;
    la_int64_t off;
    int r;

    while ((r = libarchive_api.archive_read_data_block(b, &buf, &len, &off)) == ARCHIVE_OK) {
        if (off < 0 || (uint64_t)off > size || len > size - (uint64_t)off)
            return entry_fail(c, -EINVAL, "data past the entry's size");
        for (size_t done = 0; done < len;) {
            ssize_t n = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);

            if (n < 0 && errno != EINTR)
                return entry_fail(c, -errno, strerror(errno));
            done += n > 0 ? (size_t)n : 0;
        }
    }
    if (r != ARCHIVE_EOF)
        return entry_fail(c, -EIO, libarchive_api.archive_error_string(b));
    return 0;
}

/* A regular file. Its size as the header gives it counts against IMAGE_MAX_BYTES before any
 * data is read, sparse holes included, so a bomb is refused at its header. */
static int make_file(struct import_ctx *c, struct archive *b, struct archive_entry *e, int dfd,
                     const char *base)
{
    _cleanup_close_ int fd = -1;
    la_int64_t size =
            libarchive_api.archive_entry_size_is_set(e) ? libarchive_api.archive_entry_size(e) : 0;
    int r;

    if (size < 0 || (uint64_t)size > IMAGE_MAX_BYTES - c->bytes)
        return entry_fail(c, -EFBIG, "the image is over IMAGE_MAX_BYTES (8 GiB) of files");
    c->bytes += (uint64_t)size;
    r = remove_at(dfd, base, 0);
    if (r < 0)
        return entry_fail(c, r, strerror(-r));
    fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return entry_fail(c, -errno, strerror(errno));
    r = write_data(c, b, fd, (uint64_t)size);
    if (r == 0 && ftruncate(fd, size) < 0)
        r = entry_fail(c, -errno, strerror(errno));
    if (r == 0 && fchmod(fd, safe_mode(c, libarchive_api.archive_entry_perm(e), false)) < 0)
        r = entry_fail(c, -errno, strerror(errno));
    return r;
}

static int make_symlink(struct import_ctx *c, struct archive_entry *e, int dfd, const char *base)
{
    const char *target = libarchive_api.archive_entry_symlink(e);
    int r;

    if (!target || !target[0] || strlen(target) >= PATH_MAX)
        return entry_fail(c, -EINVAL, "a symlink without a target");
    r = remove_at(dfd, base, 0);
    if (r == 0 && symlinkat(target, dfd, base) < 0)
        r = -errno;
    return r < 0 ? entry_fail(c, r, strerror(-r)) : 0;
}

/* A hard link to @raw_target, which must be an entry already extracted (not a directory). */
static int make_hardlink(struct import_ctx *c, const char *raw_target, int dfd, const char *base,
                         const char *path)
{
    char target[PATH_MAX];
    _cleanup_close_ int tfd = -1;
    const char *tbase;
    struct stat st;
    int r = clean_path(raw_target, target, sizeof(target));

    if (r < 0)
        return entry_fail(c, r,
                          r == -EPERM    ? "a hard link to an absolute path"
                          : r == -EINVAL ? "a hard link through '..'"
                                         : "a hard link target too long");
    if (!target[0] || strcmp(target, path) == 0)
        return entry_fail(c, -EINVAL, "a hard link to itself or to the root");
    tfd = open_parent(c->root_fd, target, false, &tbase);
    if (tfd < 0 || fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
        return entry_fail(c, -EINVAL, "a hard link to a path not extracted before it");
    r = remove_at(dfd, base, 0);
    if (r == 0 && linkat(tfd, tbase, dfd, base, 0) < 0)
        r = -errno;
    return r < 0 ? entry_fail(c, r, strerror(-r)) : 0;
}

static int apply_entry(struct import_ctx *c, struct archive *b, struct archive_entry *e)
{
    char path[PATH_MAX];
    _cleanup_close_ int dfd = -1;
    const char *base;
    int r;

    c->entry = libarchive_api.archive_entry_pathname(e);
    if (c->stop && c->stop())
        return image__failf(c->err, c->errlen, -EINTR, "interrupted");
    if (!c->entry)
        return entry_fail(c, -EINVAL, "no path");
    if (++c->entries > IMAGE_MAX_ENTRIES)
        return entry_fail(c, -EFBIG, "the image has over IMAGE_MAX_ENTRIES (1000000) entries");
    r = clean_path(c->entry, path, sizeof(path));
    if (r < 0)
        return path_fail(c, r);
    if (!path[0])
        return 0; /* the root itself: its mode stays ours */
    dfd = open_parent(c->root_fd, path, true, &base);
    if (dfd < 0)
        return parent_fail(c, dfd);
    if (strncmp(base, ".wh.", 4) == 0)
        return whiteout(c, dfd, path, base);
    if (json_object_set_new_nocheck(c->written, path, json_true()) < 0)
        return -ENOMEM;
    if (libarchive_api.archive_entry_hardlink(e))
        return make_hardlink(c, libarchive_api.archive_entry_hardlink(e), dfd, base, path);
    switch (libarchive_api.archive_entry_filetype(e)) {
    case AE_IFDIR:
        return make_dir(c, dfd, base, libarchive_api.archive_entry_perm(e));
    case AE_IFREG:
        return make_file(c, b, e, dfd, base);
    case AE_IFLNK:
        return make_symlink(c, e, dfd, base);
    default: /* device nodes, FIFOs, sockets: never made */
        c->skipped++;
        return 0;
    }
}

/* The layer's raw bytes come from the outer archive's member, hashed on the way. */
/* A layer's bytes come from the outer archive's member, hashed on the way (its blob digest);
 * a raw reader decompresses them, and what it gives is hashed too (its diff_id) on its way to
 * the tar reader. */
struct layer_src {
    struct archive *outer;       /* positioned at the layer's member */
    struct archive *raw;         /* filters only: the layer decompressed */
    crypto_hash_sha256_state h;  /* of the bytes as stored */
    crypto_hash_sha256_state hd; /* of the bytes decompressed */
    char buf[READ_BLOCK];
    char dbuf[READ_BLOCK];
};

/* Read the next block of @from's current entry into @buf, hashed into @h, for the reader @b. */
static la_ssize_t hashed_read(struct archive *b, struct archive *from, char *buf, size_t len,
                              crypto_hash_sha256_state *h, const void **ret)
{
    la_ssize_t n = libarchive_api.archive_read_data(from, buf, len);

    if (n < 0) {
        if (b)
            libarchive_api.archive_set_error(b, EIO, "%s",
                                             libarchive_api.archive_error_string(from));
        return -1;
    }
    crypto_hash_sha256_update(h, (const unsigned char *)buf, (size_t)n);
    *ret = buf;
    return n;
}

static la_ssize_t layer_read(struct archive *b, void *p, const void **ret)
{
    struct layer_src *s = p;

    return hashed_read(b, s->outer, s->buf, sizeof(s->buf), &s->h, ret);
}

static la_ssize_t raw_read(struct archive *b, void *p, const void **ret)
{
    struct layer_src *s = p;

    return hashed_read(b, s->raw, s->dbuf, sizeof(s->dbuf), &s->hd, ret);
}

/* Start the raw reader of @s: any compression, no format. */
static int open_raw(struct import_ctx *c, struct layer_src *s)
{
    struct archive_entry *e;
    int r = lazylib_load(&libarchive);

    if (r < 0)
        return image__failf(c->err, c->errlen, r, "%s", libarchive.why);
    s->raw = libarchive_api.archive_read_new();
    if (!s->raw)
        return -ENOMEM;
    libarchive_api.archive_read_support_filter_all(s->raw);
    libarchive_api.archive_read_support_format_raw(s->raw);
    if (libarchive_api.archive_read_open(s->raw, s, NULL, layer_read, NULL) != ARCHIVE_OK ||
        libarchive_api.archive_read_next_header(s->raw, &e) != ARCHIVE_OK)
        return image__failf(c->err, c->errlen, -EINVAL, "layer %zu (%s): %s", c->layer_no, c->layer,
                            libarchive_api.archive_error_string(s->raw));
    return 0;
}

/* Apply the entries of the layer that @s reads from. */
static int apply_entries(struct import_ctx *c, struct layer_src *s)
{
    struct archive *b;
    struct archive_entry *e;
    int r = open_raw(c, s), ar = ARCHIVE_OK;

    if (r < 0)
        return r;
    b = libarchive_api.archive_read_new();
    if (!b)
        return -ENOMEM;
    libarchive_api.archive_read_support_format_tar(b);
    if (libarchive_api.archive_read_open(b, s, NULL, raw_read, NULL) != ARCHIVE_OK)
        r = image__failf(c->err, c->errlen, -EINVAL, "layer %zu (%s): %s", c->layer_no, c->layer,
                         libarchive_api.archive_error_string(b));
    while (r == 0 && ((ar = libarchive_api.archive_read_next_header(b, &e)) == ARCHIVE_OK ||
                      ar == ARCHIVE_WARN)) {
        r = apply_entry(c, b, e);
        if (r == 0 && libarchive_api.archive_filter_bytes(b, 0) > (la_int64_t)(IMAGE_MAX_BYTES * 2))
            r = image__failf(c->err, c->errlen, -EFBIG, "layer %zu (%s): over %llu bytes unpacked",
                             c->layer_no, c->layer, IMAGE_MAX_BYTES * 2);
    }
    if (r == 0 && ar != ARCHIVE_EOF)
        r = image__failf(c->err, c->errlen, -EINVAL, "layer %zu (%s): %s", c->layer_no, c->layer,
                         libarchive_api.archive_error_string(b));
    libarchive_api.archive_read_free(b);
    return r;
}

/* The rest of the layer after the tar's end blocks, into both digests. */
static int drain(struct import_ctx *c, struct layer_src *s)
{
    const void *rest;
    la_ssize_t n;

    while ((n = raw_read(NULL, s, &rest)) > 0)
        ;
    if (n == 0)
        while ((n = layer_read(NULL, s, &rest)) > 0)
            ;
    if (n < 0)
        return image__failf(c->err, c->errlen, -EIO, "layer %zu (%s): %s", c->layer_no, c->layer,
                            libarchive_api.archive_error_string(s->raw));
    return 0;
}

static int check_digest(struct import_ctx *c, crypto_hash_sha256_state *st, const char *want,
                        const char *what)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[IMAGE__HEX_LEN];

    crypto_hash_sha256_final(st, h);
    hex_of(h, hex);
    if (want[0] && strcmp(hex, want) != 0)
        return image__failf(c->err, c->errlen, -EBADMSG, "layer %zu (%s): its %s is %s, not %s",
                            c->layer_no, c->layer, what, hex, want);
    return 0;
}

/* Apply the layer @c->layer; @digest and @diff_id are the hex digests it must have as stored
 * and decompressed ("" when not known). */
static int apply_layer(struct import_ctx *c, const char *file, const char *digest,
                       const char *diff_id)
{
    _cleanup_free_ struct layer_src *s = calloc(1, sizeof(*s));
    int r;

    if (!s)
        return -ENOMEM;
    r = outer_seek(file, c->layer, &s->outer, c->err, c->errlen);
    if (r == -ENOENT)
        return image__failf(c->err, c->errlen, -EINVAL,
                            "the manifest names the layer '%s', which is not in the archive",
                            c->layer);
    if (r < 0)
        return r;
    crypto_hash_sha256_init(&s->h);
    crypto_hash_sha256_init(&s->hd);
    json_decref(c->written);
    c->written = json_object();
    r = c->written ? apply_entries(c, s) : -ENOMEM;
    if (r == 0)
        r = drain(c, s);
    if (s->raw)
        libarchive_api.archive_read_free(s->raw);
    libarchive_api.archive_read_free(s->outer);
    if (r == 0)
        r = check_digest(c, &s->h, digest, "sha256");
    if (r == 0)
        r = check_digest(c, &s->hd, diff_id, "diff_id (sha256 unpacked)");
    return r;
}

/*** Import ***/

/* A valid image name from the archive's tag ("library/python:3.12" -> "python-3.12"), or the
 * config digest's first 12 hex digits. */
static void default_name(const char *ref, const char *digest, char out[IMAGE_NAME_MAX + 1])
{
    size_t o = 0;

    if (ref) {
        const char *s = strrchr(ref, '/') ? strrchr(ref, '/') + 1 : ref;

        for (; *s && o < IMAGE_NAME_MAX; s++) {
            char ch = (char)tolower((unsigned char)*s);

            if (isalnum((unsigned char)ch) || ch == '.' || ch == '_' || ch == '-')
                out[o++] = ch;
            else if (o > 0 && out[o - 1] != '-')
                out[o++] = '-';
        }
    }
    out[o] = '\0';
    if (!image_name_is_valid(out))
        snprintf(out, IMAGE_NAME_MAX + 1, "%.12s", digest[0] ? digest : "image");
}

static int write_config(int dir_fd, json_t *cfg)
{
    _cleanup_free_ char *text = json_dumps_fixed(cfg, JSON_INDENT(2) | JSON_SORT_KEYS);
    _cleanup_close_ int fd = -1;
    int r;

    if (!text)
        return -ENOMEM;
    fd = openat(dir_fd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    r = fd_write_all(fd, text, strlen(text));
    if (r == 0)
        r = fd_write_all(fd, "\n", 1);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    return r;
}

int image__write_config(int dir_fd, json_t *cfg)
{
    return write_config(dir_fd, cfg);
}

/* The config with what runbox adds: name, id, size, layers, counts, import time. */
static int finish_config(json_t *cfg, const char *name, const struct image__plan *p,
                         const struct import_ctx *c)
{
    char id[8 + IMAGE__HEX_LEN];

    snprintf(id, sizeof(id), "sha256:%s", p->config_digest);
    if (json_object_set_new(cfg, "name", json_string(name)) < 0 ||
        json_object_set_new(cfg, "id", p->config_digest[0] ? json_string(id) : json_null()) < 0 ||
        json_object_set_new(cfg, "size", json_integer((json_int_t)c->bytes)) < 0 ||
        json_object_set_new(cfg, "layers", json_integer((json_int_t)p->n_layers)) < 0 ||
        json_object_set_new(cfg, "skipped_special", json_integer((json_int_t)c->skipped)) < 0 ||
        json_object_set_new(cfg, "stripped_modes", json_integer((json_int_t)c->stripped)) < 0 ||
        json_object_set_new(cfg, "imported_at", json_integer(unix_ms() / 1000)) < 0)
        return -ENOMEM;
    return 0;
}

/* Everything of an import between making the staging dir and renaming it. */
static int import_into(int stage_fd, const char *file, const char *want_name, bool (*stop)(void),
                       char *ret_name, json_t **ret_cfg, char *err, size_t errlen)
{
    struct image__plan p = {0};
    struct import_ctx c = {.root_fd = -1, .stop = stop, .err = err, .errlen = errlen};
    _cleanup_free_ char *json = NULL;
    json_t *cfg = NULL, *diff_ids;
    size_t len;
    int r = read_plan(file, &p, err, errlen);

    if (r == 0) {
        r = read_member(file, p.config, p.config_digest, &json, &len, err, errlen);
        if (r == -ENOENT)
            r = image__failf(err, errlen, -EINVAL,
                             "the manifest names the config '%s', which is not in the archive",
                             p.config);
    }
    if (r == 0)
        r = image__parse_config(json, len, &cfg, err, errlen);
    if (r == 0) {
        if (want_name)
            snprintf(ret_name, IMAGE_NAME_MAX + 1, "%s", want_name);
        else
            default_name(p.ref, p.config_digest, ret_name);
        if (mkdirat(stage_fd, "rootfs", 0755) < 0)
            r = -errno;
        else if ((c.root_fd = open_beneath(stage_fd, "rootfs", O_DIRECTORY | O_RDONLY)) < 0)
            r = c.root_fd;
    }
    diff_ids = json_object_get(cfg, "diff_ids");
    if (r == 0 && json_array_size(diff_ids) && json_array_size(diff_ids) != p.n_layers)
        r = image__failf(err, errlen, -EINVAL, "the config has %zu diff_ids for %zu layers",
                         json_array_size(diff_ids), p.n_layers);
    for (size_t i = 0; r == 0 && i < p.n_layers; i++) {
        const char *diff_id = json_string_value(json_array_get(diff_ids, i));

        c.layer = p.layers[i];
        c.layer_no = i + 1;
        r = apply_layer(&c, file, p.layer_digests[i], diff_id ? diff_id + 7 : "");
    }
    if (r == 0)
        r = finish_config(cfg, ret_name, &p, &c);
    if (r == 0)
        r = write_config(stage_fd, cfg);
    if (c.root_fd >= 0)
        (void)close(c.root_fd);
    json_decref(c.written);
    image__plan_done(&p);
    if (r < 0) {
        json_decref(cfg);
        return r;
    }
    *ret_cfg = cfg;
    return 0;
}

int image__stage_new(int dir_fd, char ret[IMAGE__STAGE_LEN])
{
    for (int tries = 0;; tries++) {
        unsigned char rnd[6];

        randombytes_buf(rnd, sizeof(rnd));
        snprintf(ret, IMAGE__STAGE_LEN, ".staging-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
                 rnd[3], rnd[4], rnd[5]);
        if (mkdirat(dir_fd, ret, 0700) == 0)
            return 0;
        if (errno != EEXIST || tries > 8)
            return -errno;
    }
}

int image__stage_commit(int dir_fd, int stage_fd, const char *stage, const char *name, char *err,
                        size_t errlen)
{
    if (fchmod(stage_fd, 0755) < 0)
        return image__failf(err, errlen, -errno, "%s", strerror(errno));
    if (renameat2(dir_fd, stage, dir_fd, name, RENAME_NOREPLACE) < 0) {
        if (errno == EEXIST)
            return image__failf(err, errlen, -EEXIST, "the image '%s' exists already", name);
        return image__failf(err, errlen, -errno, "%s", strerror(errno));
    }
    return 0;
}

int image_import(const char *images_dir, const char *file, const char *name, bool (*stop)(void),
                 json_t **ret_config, char *err, size_t errlen)
{
    char stage[IMAGE__STAGE_LEN], final_name[IMAGE_NAME_MAX + 1];
    _cleanup_close_ int dir_fd = -1, stage_fd = -1;
    json_t *cfg = NULL;
    int r;

    err[0] = '\0';
    if (name && !image_name_is_valid(name))
        return image__failf(
                err, errlen, -EINVAL,
                "bad image name '%s': 1 to %d of a-z 0-9 . _ -, starting with a-z or 0-9", name,
                IMAGE_NAME_MAX);
    if (sodium_init() < 0)
        return image__failf(err, errlen, -EIO, "cannot initialise libsodium");
    dir_fd = open(images_dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (dir_fd < 0)
        return image__failf(err, errlen, -errno, "'%s': %s", images_dir, strerror(errno));
    if (name && faccessat(dir_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return image__failf(err, errlen, -EEXIST, "the image '%s' exists already", name);
    r = image__stage_new(dir_fd, stage);
    if (r < 0)
        return image__failf(err, errlen, r, "'%s': %s", images_dir, strerror(-r));
    stage_fd = open_beneath(dir_fd, stage, O_DIRECTORY | O_RDONLY);
    r = stage_fd < 0 ? stage_fd
                     : import_into(stage_fd, file, name, stop, final_name, &cfg, err, errlen);
    if (r == 0)
        r = image__stage_commit(dir_fd, stage_fd, stage, final_name, err, errlen);
    if (r < 0) {
        (void)remove_at(dir_fd, stage, 0);
        json_decref(cfg);
        if (!err[0])
            image__failf(err, errlen, r, "%s", strerror(-r));
        return r;
    }
    *ret_config = cfg;
    return 0;
}

/*** Listing and removal ***/

static int by_name(const void *a, const void *b)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "name")),
                  json_string_value(json_object_get(*(json_t *const *)b, "name")));
}

static json_t *load_image_config(int dir_fd, const char *name)
{
    char path[IMAGE_NAME_MAX + 16];
    json_error_t je;
    json_t *j;
    int fd;

    snprintf(path, sizeof(path), "%s/config.json", name);
    fd = open_beneath(dir_fd, path, O_RDONLY);
    if (fd < 0)
        return NULL;
    j = json_loadfd_bounded(fd, 0, &je);
    (void)close(fd);
    if (j && !json_is_string(json_object_get(j, "name")))
        (void)json_object_set_new(j, "name", json_string(name));
    return j;
}

int image_list(const char *images_dir, json_t **ret)
{
    json_t *arr = json_array(), *v;
    DIR *d = opendir(images_dir);
    struct dirent *de;
    size_t n = 0, i;

    if (!arr) {
        if (d)
            (void)closedir(d);
        return -ENOMEM;
    }
    if (!d) {
        if (errno == ENOENT) {
            *ret = arr;
            return 0;
        }
        json_decref(arr);
        return -errno;
    }
    while ((de = readdir(d)))
        if (image_name_is_valid(de->d_name) && (v = load_image_config(dirfd(d), de->d_name)))
            (void)json_array_append_new(arr, v);
    (void)closedir(d);
    n = json_array_size(arr);
    json_t **items = calloc(n ? n : 1, sizeof(*items));
    if (!items) {
        json_decref(arr);
        return -ENOMEM;
    }
    json_array_foreach(arr, i, v) items[i] = json_incref(v);
    qsort(items, n, sizeof(*items), by_name);
    json_array_clear(arr);
    for (i = 0; i < n; i++)
        (void)json_array_append_new(arr, items[i]);
    free(items);
    *ret = arr;
    return 0;
}

int image_remove(const char *images_dir, const char *name)
{
    _cleanup_close_ int dir_fd = -1;
    char gone[32];
    unsigned char rnd[6];

    if (!image_name_is_valid(name))
        return -EINVAL;
    dir_fd = open(images_dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (dir_fd < 0)
        return errno == ENOENT ? -ENOENT : -errno;
    randombytes_buf(rnd, sizeof(rnd));
    snprintf(gone, sizeof(gone), ".removing-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
             rnd[3], rnd[4], rnd[5]);
    if (renameat2(dir_fd, name, dir_fd, gone, RENAME_NOREPLACE) < 0)
        return -errno;
    return remove_at(dir_fd, gone, 0);
}

/*** Opening for runs ***/

static int not_imported(const char *name, char *err, size_t errlen)
{
    return image__failf(err, errlen, -ENOENT, "image '%s' is not imported (runbox image ls)", name);
}

/* config.json of the image dir @img_fd: a regular file (never a symlink) of at most
 * MAX_JSON_BYTES holding an object. */
static int read_image_config(int img_fd, const char *name, json_t **ret, char *err, size_t errlen)
{
    _cleanup_close_ int fd = open_beneath(img_fd, "config.json", O_RDONLY | O_NONBLOCK);
    _cleanup_free_ char *text = NULL;
    json_error_t je;
    struct stat st;
    size_t len = 0;
    ssize_t n;

    if (fd < 0)
        return image__failf(err, errlen, -EINVAL, "image '%s' is broken: config.json: %s", name,
                            strerror(-fd));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_JSON_BYTES)
        return image__failf(
                err, errlen, -EINVAL,
                "image '%s' is broken: config.json is not a regular file of at most %u MiB", name,
                MAX_JSON_BYTES >> 20);
    if (!(text = malloc((size_t)st.st_size + 1)))
        return -ENOMEM;
    while (len < (size_t)st.st_size && (n = read(fd, text + len, (size_t)st.st_size - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return image__failf(err, errlen, -errno, "image '%s': config.json: %s", name,
                                strerror(errno));
        len += (size_t)n;
    }
    *ret = json_load_bounded(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!*ret || !json_is_object(*ret)) {
        json_decref(*ret);
        return image__failf(err, errlen, -EINVAL, "image '%s' is broken: config.json: %s", name,
                            *ret ? "not an object" : je.text);
    }
    return 0;
}

/* The config's "env" (null or strings KEY=VALUE) into @ref->env. */
static int ref_env(json_t *env, struct image_ref *ref, char *err, size_t errlen)
{
    if (json_is_null(env) || !env)
        return 0;
    if (!json_is_array(env))
        return image__failf(err, errlen, -EINVAL, "image '%s' is broken: \"env\" is not an array",
                            ref->name);
    if (!(ref->env = calloc(json_array_size(env) + 1, sizeof(*ref->env))))
        return -ENOMEM;
    for (size_t i = 0; i < json_array_size(env); i++) {
        const char *kv = json_string_value(json_array_get(env, i));
        if (!kv || !strchr(kv, '=') || kv[0] == '=')
            return image__failf(err, errlen, -EINVAL,
                                "image '%s' is broken: \"env\"[%zu] is no KEY=VALUE", ref->name, i);
        if (!(ref->env[i] = strdup(kv)))
            return -ENOMEM;
    }
    return 0;
}

static int open_into(int dir_fd, const char *real_dir, const char *name, struct image_ref *ref,
                     char *err, size_t errlen)
{
    _cleanup_close_ int img_fd = open_beneath(dir_fd, name, O_DIRECTORY | O_RDONLY);
    json_t *cfg = NULL;
    const char *id;
    struct stat st;
    int r;

    if (img_fd == -ENOENT)
        return not_imported(name, err, errlen);
    if (img_fd < 0)
        return image__failf(err, errlen, img_fd == -ENOTDIR || img_fd == -ELOOP ? -EINVAL : img_fd,
                            "image '%s': %s", name, strerror(-img_fd));
    if (fstatat(img_fd, "rootfs", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
        return image__failf(err, errlen, -EINVAL, "image '%s' is broken: rootfs is not a directory",
                            name);
    if ((r = read_image_config(img_fd, name, &cfg, err, errlen)) < 0)
        return r;
    if (!(ref->name = strdup(name)) || asprintf(&ref->rootfs, "%s/%s/rootfs", real_dir, name) < 0) {
        ref->rootfs = NULL;
        r = -ENOMEM;
    }
    id = json_string_value(json_object_get(cfg, "id"));
    if (r == 0 && id && !(ref->id = strdup(id)))
        r = -ENOMEM;
    if (r == 0)
        r = ref_env(json_object_get(cfg, "env"), ref, err, errlen);
    json_decref(cfg);
    return r;
}

int image_open(const char *images_dir, const char *name, struct image_ref *ret, char *err,
               size_t errlen)
{
    char real[PATH_MAX];
    _cleanup_close_ int dir_fd = -1;
    struct image_ref ref = {0};
    int r;

    err[0] = '\0';
    if (!image_name_is_valid(name))
        return image__failf(
                err, errlen, -EINVAL,
                "bad image name '%s': 1 to %d of a-z 0-9 . _ -, starting with a-z or 0-9", name,
                IMAGE_NAME_MAX);
    /* Absolute: the box opens the root from wherever it is. */
    if (!realpath(images_dir, real))
        return errno == ENOENT
                       ? not_imported(name, err, errlen)
                       : image__failf(err, errlen, -errno, "'%s': %s", images_dir, strerror(errno));
    if ((dir_fd = open(real, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) < 0)
        return image__failf(err, errlen, -errno, "'%s': %s", images_dir, strerror(errno));
    r = open_into(dir_fd, real, name, &ref, err, errlen);
    if (r < 0) {
        image_ref_done(&ref);
        if (!err[0])
            image__failf(err, errlen, r, "image '%s': %s", name, strerror(-r));
        return r;
    }
    *ret = ref;
    return 0;
}

void image_ref_done(struct image_ref *ref)
{
    if (!ref)
        return;
    for (char **e = ref->env; e && *e; e++)
        free(*e);
    free(ref->env);
    free(ref->name);
    free(ref->rootfs);
    free(ref->id);
    *ref = (struct image_ref){0};
}

const char **image_env(const struct image_ref *ref, const char *const *base)
{
    size_t nb = 0, ni = 0, n = 0;
    const char **env;

    while (base && base[nb])
        nb++;
    while (ref->env && ref->env[ni])
        ni++;
    if (!(env = calloc(nb + ni + 1, sizeof(*env))))
        return NULL;
    for (size_t i = 0; i < nb; i++)
        env[n++] = base[i];
    for (size_t i = 0; i < ni; i++) {
        size_t klen = strcspn(ref->env[i], "=") + 1, j;
        for (j = 0; j < n && strncmp(env[j], ref->env[i], klen) != 0; j++)
            ;
        env[j] = ref->env[i]; /* the image's value wins, in the base's place */
        if (j == n)
            n++;
    }
    env[n] = NULL;
    return env;
}
