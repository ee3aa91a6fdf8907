/* Files a program made, served so that a browser never runs them: every one is an attachment
 * under "nosniff" and a "sandbox" CSP, typed application/octet-stream unless its bytes are a
 * raster image (PNG, JPEG, GIF, WebP). A program's report.html or drawing.svg, opened from a
 * shared run, would otherwise run its script in runbox's origin, where the viewer's token is.
 * Also: the unguessable ids of share links. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"

struct req;

/* base64url of 16 random bytes, without padding, and its NUL. */
#define INERT_SHARE_ID_LEN 23

/* The type a file of bytes @data is served as: the raster image type libmagic finds in its
 * bytes, else "application/octet-stream" (whatever its name or its stored MIME type say). */
const char *inert_content_type(const void *data, size_t len);

/* The Content-Disposition of a download named @name (its last path component): "attachment;
 * filename=\"<ASCII, unsafe bytes as _>\"; filename*=UTF-8''<percent-encoded>" into @buf.
 * Returns 0, or -ENAMETOOLONG when @len is too small. */
int inert_disposition(const char *name, char *buf, size_t len) _warn_unused_;

/* Answer 200 with file @name's bytes @data, inert: attachment, nosniff, a sandbox CSP that
 * allows nothing, inert_content_type(). Returns as http_reply_bytes(). */
int inert_reply_file(struct req *rq, const char *name, const void *data, size_t len);

/* A fresh share id: 128 bits from libsodium's CSPRNG as base64url (22 characters). */
void inert_share_id_new(char ret[INERT_SHARE_ID_LEN]);
