/* Users and access. Passwords are hashed with argon2id; login tokens and API keys are 256 random
 * bits that the caller sees once, and the store keeps only their SHA-256, so a leaked database
 * gives no usable secret. A wrong user name costs the same argon2id verification as a wrong
 * password, so login timing does not tell which names exist. */
#include "server/auth.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "store/store.h"

#define SECRET_RANDOM_BYTES 32
#define SECRET_BODY_LEN     43 /* base64url of 32 bytes, no padding */
#define SECRET_PREFIX_LEN   4  /* "rbt_" or "rbk_" */
#define SECRET_HASH_LEN     (crypto_hash_sha256_BYTES * 2 + 1)
#define PASSWORD_MIN        8
#define PASSWORD_MAX        1024
#define KEY_NAME_MAX        128
#define LOCAL_USER          "local"

_Static_assert(SECRET_PREFIX_LEN + SECRET_BODY_LEN + 1 == AUTH_SECRET_LEN,
               "AUTH_SECRET_LEN holds a prefix, the base64url body and the NUL");

int auth_init(void)
{
    return sodium_init() < 0 ? -EIO : 0;
}

/*** Passwords ***/

int auth_hash_password(const char *password, char *ret, size_t len)
{
    if (!auth_password_is_valid(password))
        return -EINVAL;
    if (len < crypto_pwhash_STRBYTES)
        return -ENOBUFS;
    /* It fails only when it cannot get its memory. */
    if (crypto_pwhash_str(ret, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return -ENOMEM;
    return 0;
}

bool auth_password_matches(const char *hash, const char *password)
{
    if (!hash || !password)
        return false;
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

bool auth_name_is_valid(const char *name)
{
    size_t n;

    if (!name)
        return false;
    n = strlen(name);
    if (n < 1 || n > 63)
        return false;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@-") == n;
}

bool auth_password_is_valid(const char *password)
{
    size_t n;

    if (!password)
        return false;
    n = strnlen(password, PASSWORD_MAX + 1);
    return n >= PASSWORD_MIN && n <= PASSWORD_MAX;
}

static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

/* A hash of a random password, verified against when the user is unknown. */
static void dummy_hash_make(void)
{
    char pw[2 * 16 + 1];
    unsigned char rnd[16];

    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(pw, sizeof(pw), rnd, sizeof(rnd));
    /* On OOM the hash stays empty and verification fails at once: still a refusal. */
    if (auth_hash_password(pw, dummy_hash, sizeof(dummy_hash)) < 0)
        dummy_hash[0] = '\0';
}

int auth_user_add(struct store *s, const char *name, const char *password, bool admin,
                  int64_t *ret_id)
{
    char hash[crypto_pwhash_STRBYTES];
    int r;

    if (!auth_name_is_valid(name) || !auth_password_is_valid(password))
        return -EINVAL;
    r = auth_hash_password(password, hash, sizeof(hash));
    if (r < 0)
        return r;
    return store_user_add(s, name, hash, admin, ret_id);
}

/*** Tokens and keys ***/

/* A fresh secret "@prefix<base64url>" into @ret (AUTH_SECRET_LEN bytes). */
static void secret_new(const char *prefix, char *ret)
{
    unsigned char rnd[SECRET_RANDOM_BYTES];

    memcpy(ret, prefix, SECRET_PREFIX_LEN);
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2base64(ret + SECRET_PREFIX_LEN, AUTH_SECRET_LEN - SECRET_PREFIX_LEN, rnd,
                      sizeof(rnd), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(rnd, sizeof(rnd));
}

/* The SHA-256 of @secret in lowercase hex: what the store keeps. */
static void secret_hash(const char *secret, char ret[SECRET_HASH_LEN])
{
    unsigned char h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(h, (const unsigned char *)secret, strlen(secret));
    sodium_bin2hex(ret, SECRET_HASH_LEN, h, sizeof(h));
}

/* A new login token of @u into @ret_token; -EACCES when @u's tokens were revoked since @u was
 * read (a password change overlapped the check). */
static int token_issue(struct store *s, const struct store_user *u, int64_t ttl_s, char *ret_token)
{
    char token[AUTH_SECRET_LEN], hash[SECRET_HASH_LEN];
    int r;

    secret_new(AUTH_TOKEN_PREFIX, token);
    secret_hash(token, hash);
    r = store_token_add(s, u->id, u->token_gen, hash, (int64_t)time(NULL) + ttl_s);
    if (r == -ENOENT)
        r = -EACCES;
    if (r == 0)
        memcpy(ret_token, token, AUTH_SECRET_LEN);
    sodium_memzero(token, sizeof(token));
    return r;
}

int auth_login(struct store *s, const char *name, const char *password, int64_t ttl_s,
               char *ret_token)
{
    struct store_user u;
    int r;

    if (!password)
        return -EACCES;
    r = auth_name_is_valid(name) ? store_user_by_name(s, name, &u) : -ENOENT;
    if (r == -ENOENT) {
        (void)pthread_once(&dummy_once, dummy_hash_make);
        (void)auth_password_matches(dummy_hash, password);
        return -EACCES;
    }
    if (r < 0)
        return r;
    if (!auth_password_matches(u.pw_hash, password))
        return -EACCES;
    return token_issue(s, &u, ttl_s, ret_token);
}

int auth_change_password(struct store *s, int64_t user_id, const char *password,
                         const char *new_password, int64_t ttl_s, char *ret_token)
{
    struct store_user u;
    char hash[crypto_pwhash_STRBYTES];
    int r;

    r = store_user_by_id(s, user_id, &u);
    if (r == -ENOENT)
        return -EACCES;
    if (r < 0)
        return r;
    if (!auth_password_matches(u.pw_hash, password))
        return -EACCES;
    r = auth_hash_password(new_password, hash, sizeof(hash));
    if (r < 0)
        return r;
    r = store_user_set_password(s, u.id, hash);
    sodium_memzero(hash, sizeof(hash));
    if (r < 0)
        return r == -ENOENT ? -EACCES : r;
    /* The caller's own session was revoked with the others; they get a new one. */
    r = store_user_by_id(s, user_id, &u);
    return r < 0 ? (r == -ENOENT ? -EACCES : r) : token_issue(s, &u, ttl_s, ret_token);
}

int auth_key_create(struct store *s, int64_t user_id, const char *name, char *ret_key,
                    int64_t *ret_id)
{
    struct store_user u;
    char key[AUTH_SECRET_LEN], hash[SECRET_HASH_LEN];
    int64_t id;
    int r;

    if (!name)
        name = "";
    if (strnlen(name, KEY_NAME_MAX + 1) > KEY_NAME_MAX || !utf8_valid(name, strlen(name)))
        return -EINVAL;
    r = store_user_by_id(s, user_id, &u);
    if (r < 0)
        return r;

    secret_new(AUTH_KEY_PREFIX, key);
    secret_hash(key, hash);
    r = store_key_add(s, user_id, name, hash, &id);
    if (r < 0)
        return r;
    memcpy(ret_key, key, AUTH_SECRET_LEN);
    sodium_memzero(key, sizeof(key));
    if (ret_id)
        *ret_id = id;
    return 0;
}

/* The secret of "Bearer <secret>" (any case of "Bearer", spaces around) into @ret, or -EACCES
 * when the value is not that shape or the secret cannot be one of ours. */
static int bearer_parse(const char *authorization, char ret[AUTH_SECRET_LEN])
{
    const char *p = authorization, *end;
    size_t n;

    if (!p)
        return -EACCES;
    p += strspn(p, " \t");
    if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return -EACCES;
    p += 6;
    p += strspn(p, " \t");
    end = p + strlen(p);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    n = (size_t)(end - p);
    if (n != AUTH_SECRET_LEN - 1)
        return -EACCES;
    if (strncmp(p, AUTH_TOKEN_PREFIX, SECRET_PREFIX_LEN) != 0 &&
        strncmp(p, AUTH_KEY_PREFIX, SECRET_PREFIX_LEN) != 0)
        return -EACCES;
    if (strspn(p + SECRET_PREFIX_LEN, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_") != SECRET_BODY_LEN)
        return -EACCES;
    memcpy(ret, p, n);
    ret[n] = '\0';
    return 0;
}

/* Fill @ret from user @user_id; a user that has gone is -EACCES. */
static int principal_fill(struct store *s, int64_t user_id, int64_t key_id, int64_t token_id,
                          struct auth_principal *ret)
{
    struct store_user u;
    int r = store_user_by_id(s, user_id, &u);

    if (r == -ENOENT)
        return -EACCES;
    if (r < 0)
        return r;
    *ret = (struct auth_principal){
            .user_id = u.id, .key_id = key_id, .token_id = token_id, .admin = u.admin};
    snprintf(ret->name, sizeof(ret->name), "%s", u.name);
    return 0;
}

int auth_check_bearer(struct store *s, const char *authorization, struct auth_principal *ret)
{
    char secret[AUTH_SECRET_LEN], hash[SECRET_HASH_LEN];
    int64_t user_id = 0, key_id = 0, token_id = 0;
    int r;

    r = bearer_parse(authorization, secret);
    if (r < 0)
        return r;
    secret_hash(secret, hash);
    if (strncmp(secret, AUTH_KEY_PREFIX, SECRET_PREFIX_LEN) == 0)
        r = store_key_lookup(s, hash, &user_id, &key_id);
    else
        r = store_token_lookup(s, hash, (int64_t)time(NULL), &user_id, &token_id);
    sodium_memzero(secret, sizeof(secret));
    if (r == -ENOENT)
        return -EACCES;
    if (r < 0)
        return r;
    return principal_fill(s, user_id, key_id, token_id, ret);
}

int auth_local_principal(struct store *s, struct auth_principal *ret)
{
    struct store_user u;
    char pw[AUTH_SECRET_LEN];
    int64_t id;
    int r;

    r = store_user_by_name(s, LOCAL_USER, &u);
    if (r == 0)
        return principal_fill(s, u.id, 0, 0, ret);
    if (r != -ENOENT)
        return r;
    /* Nobody is told this password: the local user can never log in with one. */
    secret_new(AUTH_TOKEN_PREFIX, pw);
    r = auth_user_add(s, LOCAL_USER, pw, true, &id);
    sodium_memzero(pw, sizeof(pw));
    if (r == -EEXIST) { /* another thread made it first */
        r = store_user_by_name(s, LOCAL_USER, &u);
        if (r < 0)
            return r;
        id = u.id;
    }
    if (r < 0)
        return r;
    return principal_fill(s, id, 0, 0, ret);
}
