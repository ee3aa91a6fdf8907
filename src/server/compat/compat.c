/* Helpers shared by the compatibility layers. */
#include "server/compat/compat.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server-int.h"
#include "store/store.h"

int compat_hex_decode(const char *hex, size_t len, char **ret, size_t *ret_len)
{
    char *out;

    if (len % 2)
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if (hex_digit(hex[i]) < 0)
            return -EINVAL;
    if (!(out = malloc(len / 2 + 1)))
        return -ENOMEM;
    for (size_t i = 0; i < len / 2; i++)
        out[i] = (char)(hex_digit(hex[2 * i]) << 4 | hex_digit(hex[2 * i + 1]));
    out[len / 2] = '\0';
    *ret = out;
    *ret_len = len / 2;
    return 0;
}

int compat_signal_from_name(const char *name)
{
    if (strncmp(name, "SIG", 3) != 0)
        return 0;
    for (int sig = 1; sig < NSIG; sig++) {
        const char *abbrev = sigabbrev_np(sig);
        if (abbrev && strcmp(abbrev, name + 3) == 0)
            return sig;
    }
    return 0;
}

const char *compat_signal_name(int sig, char *buf, size_t len)
{
    const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;

    if (!abbrev)
        return NULL;
    snprintf(buf, len, "SIG%s", abbrev);
    return buf;
}

int compat_caller(struct server *srv, const char *authorization, const char *anon_user,
                  struct auth_principal *ret, char *msg, size_t msglen)
{
    struct store_user u;
    int r;

    if (srv->cfg->no_auth) {
        *ret = srv->local;
        return 0;
    }
    if (authorization || !anon_user) {
        r = auth_check_bearer(srv->store, authorization, ret);
        if (r == -EACCES)
            snprintf(msg, msglen, "%s",
                     authorization ? "the token or API key is unknown, expired or revoked"
                                   : "log in: an Authorization: Bearer header is required");
        return r;
    }
    r = store_user_by_name(srv->store, anon_user, &u);
    if (r == -ENOENT) {
        snprintf(msg, msglen,
                 "the anonymous user '%s' of this server's config does not exist: log in "
                 "(Authorization: Bearer)",
                 anon_user);
        return -EACCES;
    }
    if (r < 0)
        return r;
    /* Anonymous callers never get an admin's rights, whoever the operator named. */
    *ret = (struct auth_principal){.user_id = u.id, .key_id = 0, .admin = false};
    snprintf(ret->name, sizeof(ret->name), "%s", u.name);
    return 0;
}

int64_t compat_rate_key(const struct auth_principal *who)
{
    return who->key_id ? -who->key_id : who->user_id;
}
