/* Users and access: passwords hashed with argon2id (libsodium), login tokens and API keys
 * (random, shown once, stored as SHA-256 hashes), and the caller of a request. Functions return
 * 0 or -errno; -EACCES means "not allowed" (wrong password, unknown/expired/revoked token). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

struct store;

/* Who makes a request. */
struct auth_principal {
    int64_t user_id;
    int64_t key_id;   /* the API key used, 0 for a login token or --no-auth */
    int64_t token_id; /* the login token used, 0 for an API key or --no-auth */
    bool admin;
    char name[64]; /* the user's name */
};

/* Tokens and keys: a prefix, then 43 characters of base64url (256 random bits). */
#define AUTH_TOKEN_PREFIX "rbt_"
#define AUTH_KEY_PREFIX   "rbk_"
#define AUTH_SECRET_LEN   48 /* with the prefix and the NUL */

/* Initialise libsodium; call once before anything else here. */
int auth_init(void) _warn_unused_;

/* Hash @password with argon2id (interactive limits) into @ret (libsodium's string form). */
int auth_hash_password(const char *password, char *ret, size_t len) _warn_unused_;
bool auth_password_matches(const char *hash, const char *password);

/* A user name is 1..63 of [A-Za-z0-9_.@-]. A password is 8..1024 bytes. */
bool auth_name_is_valid(const char *name);
bool auth_password_is_valid(const char *password);

/* Create user @name; -EEXIST if taken, -EINVAL for a bad name or password. */
int auth_user_add(struct store *s, const char *name, const char *password, bool admin,
                  int64_t *ret_id) _warn_unused_;

/* Check @name/@password and issue a login token valid @ttl_s seconds into @ret_token
 * (AUTH_SECRET_LEN bytes). -EACCES on a wrong name or password (the same time either way). */
int auth_login(struct store *s, const char *name, const char *password, int64_t ttl_s,
               char *ret_token) _warn_unused_;

/* Check @password of user @user_id (-EACCES when wrong), then set @new_password (-EINVAL when
 * it is not a valid password), which revokes every login token of the user, and issue a fresh
 * token for the caller, valid @ttl_s seconds, into @ret_token (AUTH_SECRET_LEN bytes). */
int auth_change_password(struct store *s, int64_t user_id, const char *password,
                         const char *new_password, int64_t ttl_s, char *ret_token) _warn_unused_;

/* Make an API key for @user_id named @name into @ret_key (AUTH_SECRET_LEN bytes). */
int auth_key_create(struct store *s, int64_t user_id, const char *name, char *ret_key,
                    int64_t *ret_id) _warn_unused_;

/* The principal of an "Authorization" header value ("Bearer <token or key>"); NULL or an
 * unknown, expired or revoked secret gives -EACCES. */
int auth_check_bearer(struct store *s, const char *authorization,
                      struct auth_principal *ret) _warn_unused_;

/* The single local user of --no-auth (created as an admin named "local" on first use). */
int auth_local_principal(struct store *s, struct auth_principal *ret) _warn_unused_;
