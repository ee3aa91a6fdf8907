/* JSON helpers on top of jansson: a depth-bounded loader for untrusted text, and output helpers
 * for bytes that may not be UTF-8. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* A JSON string of @len bytes: the text itself when it is valid UTF-8, otherwise a copy with
 * each invalid byte replaced by U+FFFD. Returns a new reference, NULL on OOM. */
json_t *json_text_lossy(const char *data, size_t len);

/* Set @key to the lossy text of @data and, only when it is not valid UTF-8, "@key_base64" to
 * its exact bytes, so no byte is silently lost. Returns 0 or -ENOMEM. */
int json_set_bytes(json_t *obj, const char *key, const char *data, size_t len);

/* Standard base64 (RFC 4648, padded) of @len bytes; malloc'd, NULL on OOM. */
char *base64_encode(const void *data, size_t len);

/* The deepest nesting of arrays and objects any JSON we read may have. jansson's parser recurses
 * once per level (up to its own 2048), which on a 256 KB thread stack (HTTP_THREAD_STACK_BYTES)
 * or under ASan is a crash a 2 KB request can cause: every load of text we did not write goes
 * through json_load_bounded(), which refuses deeper text before jansson sees it. */
#define JSON_MAX_DEPTH 64

/* json_loadb() for untrusted text: first a scan without recursion of the @len bytes at @buf
 * counting the '[' and '{' open outside strings (escapes honoured); deeper than JSON_MAX_DEPTH,
 * NULL with @err (when not NULL) saying "JSON nested deeper than 64 levels" at the byte that
 * went past it (json_error_code json_error_stack_overflow). Otherwise exactly
 * json_loadb(@buf, @len, @flags, @err): a new reference, or NULL with @err filled. */
json_t *json_load_bounded(const char *buf, size_t len, size_t flags, json_error_t *err);

/* json_load_bounded() of a NUL-terminated string. */
json_t *json_loads_bounded(const char *text, size_t flags, json_error_t *err);

/* json_load_bounded() of a whole file (@path) or of what is left to read from @fd (not
 * closed); a file that cannot be read is NULL with @err naming the errno, as jansson does. */
json_t *json_load_file_bounded(const char *path, size_t flags, json_error_t *err);
json_t *json_loadfd_bounded(int fd, size_t flags, json_error_t *err);

/* Every JSON text runbox writes (API answers, events, stored results, the CLI's --json) goes
 * through these, which print reals with JSON_REAL_DIGITS significant digits unless @flags
 * names a JSON_REAL_PRECISION of its own. jansson's default, 17, shows a double's binary noise:
 * execution_time 0.023806 came out as 0.023806000000000001. 15 (DBL_DIG) is the most digits
 * every double keeps, so a number with up to 15 of them (a time in microseconds, a limit, an
 * average) prints as written, and the noise never shows. Otherwise exactly json_dumps_fixed(),
 * json_dumpf_fixed() and json_dumpfd_fixed(). */
#define JSON_REAL_DIGITS 15
char *json_dumps_fixed(const json_t *j, size_t flags);
int json_dumpf_fixed(const json_t *j, FILE *f, size_t flags);
int json_dumpfd_fixed(const json_t *j, int fd, size_t flags);
