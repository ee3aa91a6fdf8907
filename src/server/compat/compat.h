/* What the compatibility layers (Piston's API, src/server/compat/piston.c) share: hex text,
 * signal names, and who calls when another API's clients send no runbox credentials. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"
#include "server/auth.h"

struct server;

/* Decode @len hex digits (either case) at @hex into a malloc'd, NUL-terminated *@ret of
 * *@ret_len bytes. -EINVAL for an odd length or a character that is not a hex digit (nothing
 * written), -ENOMEM. */
int compat_hex_decode(const char *hex, size_t len, char **ret, size_t *ret_len) _warn_unused_;

/* The number of the signal called @name ("SIGKILL"; exact case), or 0 when there is none. */
int compat_signal_from_name(const char *name);

/* "SIGKILL" for 9 into @buf (at least 16 bytes); NULL for a number that names no signal. */
const char *compat_signal_name(int sig, char *buf, size_t len);

/* The caller of a compatibility endpoint: the bearer token or API key of @authorization, or
 * the --no-auth user; with no @authorization, the user named @anon_user (NULL: none, 401),
 * never as an admin. 0 with @ret set; -EACCES (answer 401, @msg says why), -ENOTCONN or
 * another -errno of the store (answer 503 or 500). */
int compat_caller(struct server *srv, const char *authorization, const char *anon_user,
                  struct auth_principal *ret, char *msg, size_t msglen) _warn_unused_;

/* The key runbox's rate limits count @who under (an API key, else the user). */
int64_t compat_rate_key(const struct auth_principal *who);
