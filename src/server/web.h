/* The browser page's static files (web/dist/), served by `runbox serve` at every path that is
 * not an API route: "/" and "/r/{id}" are index.html, any other path the file under the web
 * directory. Paths are percent-decoded once and checked by web_path_resolve() (no "..", "//",
 * NUL, backslash or dotfile), and files are opened with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS) under a directory fd opened at start (and again when the directory is
 * replaced: web/build.sh removes and rebuilds it), so nothing outside it is reached. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"

struct req;
struct web;

/* The longest decoded path a request may name. */
#define WEB_MAX_PATH 1024

/* Turn the raw (still percent-encoded) path @raw of a request into the file to open under the
 * web directory, written into @buf (@len bytes): "index.html" for "/" and "/r/{id}", else the
 * decoded path without its leading '/'. Returns 0, -EINVAL for a path refused (bad escape,
 * NUL, control character, backslash, "//", a segment starting with '.', a trailing '/'), or
 * -ENAMETOOLONG. @buf is written only on success. Pure: the fuzzer's entry. */
int web_path_resolve(const char *raw, char *buf, size_t len) _warn_unused_;

/* The MIME type for @name's extension ("application/octet-stream" when unknown). Static. */
const char *web_mime_type(const char *name);

/* Open the web directory @dir, or when NULL the default: <dir of /proc/self/exe>/../web/dist
 * when it exists, else /usr/share/runbox/web. A directory that cannot be opened is not an
 * error: the server then answers "/" with a page saying how to build it, until it exists.
 * Writes one line to stderr saying which. Returns NULL only when out of memory. */
struct web *web_new(const char *dir);
struct web *web_free(struct web *w);

/* Answer @rq from the web directory of its server (GET and HEAD). Returns 0 when it answered,
 * -ENOENT when the path is not for it (another method, an /api/ path): the router then
 * answers its own 404. */
int web_serve(struct req *rq);

/* The q-value, in thousandths (0-1000), that the Accept-Encoding header @ae gives the coding
 * @token: its own element's, else "*"'s when @star_counts, else -1 (not named). */
int web_accept_q(const char *ae, const char *token, bool star_counts);
