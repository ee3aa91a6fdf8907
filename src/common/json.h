/* JSON output helpers on top of jansson for bytes that may not be UTF-8. */
#pragma once

#include <jansson.h>
#include <stddef.h>

/* A JSON string of @len bytes: the text itself when it is valid UTF-8, otherwise a copy with
 * each invalid byte replaced by U+FFFD. Returns a new reference, NULL on OOM. */
json_t *json_text_lossy(const char *data, size_t len);

/* Set @key to the lossy text of @data and, only when it is not valid UTF-8, "@key_base64" to
 * its exact bytes, so no byte is silently lost. Returns 0 or -ENOMEM. */
int json_set_bytes(json_t *obj, const char *key, const char *data, size_t len);

/* Standard base64 (RFC 4648, padded) of @len bytes; malloc'd, NULL on OOM. */
char *base64_encode(const void *data, size_t len);
