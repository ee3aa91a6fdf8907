/* Files a program made, served inert (see inert.h), and share ids.
 *
 * Why each header: "Content-Disposition: attachment" makes a browser save the file instead of
 * showing it; "X-Content-Type-Options: nosniff" stops it from guessing HTML in bytes typed
 * otherwise; "Content-Security-Policy: sandbox; default-src 'none'" makes a document that is
 * shown anyway (an old browser, a viewer that ignores attachment) an opaque origin with no
 * script, no forms and no loads. The type is application/octet-stream for anything but a raster
 * image whose bytes libmagic recognises: a name or a stored MIME type is the program's claim,
 * and SVG is a document that can hold script, so it is never image-typed here. */
#include "server/inert.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "job/job.h"
#include "server/http.h"

static const char *const raster_types[] = {"image/png", "image/jpeg", "image/gif", "image/webp"};

const char *inert_content_type(const void *data, size_t len)
{
    const char *sniffed = job_mime_sniff(data, len);

    for (size_t i = 0; i < ARRAY_SIZE(raster_types); i++)
        if (strcmp(sniffed, raster_types[i]) == 0)
            return raster_types[i];
    return "application/octet-stream";
}

/* RFC 8187's attr-char: what filename*= may carry unencoded. */
static bool is_attr_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$&+-.^_`|~", c));
}

/* What the quoted ASCII filename= may carry: no quote, backslash, control or non-ASCII byte. */
static bool is_plain_char(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '%' && c != ';';
}

int inert_disposition(const char *name, char *buf, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *base = strrchr(name, '/');
    size_t at;

    base = base ? base + 1 : name;
    if (!*base)
        base = "file";
    at = (size_t)snprintf(buf, len, "attachment; filename=\"");
    /* One '_' per unsafe character: UTF-8 continuation bytes add none. */
    for (const unsigned char *p = (const unsigned char *)base; *p && at + 1 < len; p++)
        if ((*p & 0xc0) != 0x80)
            buf[at++] = is_plain_char(*p) ? (char)*p : '_';
    if (at + sizeof("\"; filename*=UTF-8''") > len)
        return -ENAMETOOLONG;
    at += (size_t)snprintf(buf + at, len - at, "\"; filename*=UTF-8''");
    for (const unsigned char *p = (const unsigned char *)base; *p; p++) {
        if (at + 4 > len)
            return -ENAMETOOLONG;
        if (is_attr_char(*p)) {
            buf[at++] = (char)*p;
        } else {
            buf[at++] = '%';
            buf[at++] = hex[*p >> 4];
            buf[at++] = hex[*p & 15];
        }
    }
    buf[at] = '\0';
    return 0;
}

int inert_reply_file(struct req *rq, const char *name, const void *data, size_t len)
{
    char disposition[1024];

    /* Every reply of the HTTP layer also says "X-Content-Type-Options: nosniff" and
     * "Cache-Control: no-store" (http.c); 79-inert-files.sh checks that these replies do. */

    if (inert_disposition(name, disposition, sizeof(disposition)) < 0)
        (void)snprintf(disposition, sizeof(disposition), "attachment; filename=\"file\"");
    const struct http_header headers[] = {
            {"Content-Disposition", disposition},
            {"Content-Security-Policy", "sandbox; default-src 'none'"},
            {"Cross-Origin-Resource-Policy", "same-origin"},
    };
    return http_reply_bytes_headers(rq, 200, inert_content_type(data, len), data, len, headers,
                                    ARRAY_SIZE(headers));
}

void inert_share_id_new(char ret[INERT_SHARE_ID_LEN])
{
    unsigned char rnd[16];

    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2base64(ret, INERT_SHARE_ID_LEN, rnd, sizeof(rnd),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}
