/* A growable byte buffer with a hard maximum fixed at init (curl's dynbuf "toobig" idea):
 * untrusted input can never grow it past @max. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *data; /* NUL-terminated for convenience; may hold NULs */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
    size_t max; /* hard maximum of len */
};

/* Start an empty buffer that will never hold more than @max bytes. */
void buf_init(struct buf *b, size_t max);

/* Release the contents; the buffer can be reused after buf_init. */
void buf_done(struct buf *b);

/* Append up to @len bytes; returns how many were kept (fewer once @max is reached),
 * or -ENOMEM. */
long buf_append(struct buf *b, const void *data, size_t len);

/* Append printf-formatted text, cut at @max like buf_append; returns how many bytes were kept,
 * or -ENOMEM / -EINVAL (a bad format). */
long buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
