/* The HTTP handlers of logins, users and API keys. The router has already checked the method,
 * the caller (rq->who), the admin flag and the body size from routes.def. */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server/auth.h"
#include "server/loginguard.h"
#include "server/quota.h"
#include "server/server-int.h"
#include "store/store.h"

#define FIELD_MAX    1100 /* a name or a password (at most 1024 bytes), and room to see more */
#define KEY_NAME_MAX 128

static int internal_error(struct req *rq, int r)
{
    return http_reply_store_error(rq, r);
}

static bool body_is_json(const struct req *rq)
{
    const char *type = http_header(rq, "Content-Type");

    return type && strncasecmp(type, "application/json", 16) == 0;
}

/* The string member @key of @obj into @buf: 0, -ENOENT when absent or not a string, -E2BIG. */
static int json_string_field(json_t *obj, const char *key, char *buf, size_t len)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_string(v))
        return -ENOENT;
    if (json_string_length(v) >= len || strlen(json_string_value(v)) != json_string_length(v))
        return -E2BIG;
    memcpy(buf, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

/* A caller's view of a user. */
static json_t *user_json(int64_t id, const char *name, bool admin)
{
    return json_pack("{s:I, s:s, s:b}", "id", (json_int_t)id, "name", name, "admin", admin);
}

/*** Logins ***/

static uint64_t mono_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The login backoff's verdict on a password check of account @name from this client: 0 to go
 * ahead (then report with guard_end()), or -EAGAIN after answering 429 with Retry-After. */
static int guard_begin(struct req *rq, const char *name)
{
    unsigned retry = 1;

    if (loginguard_begin(rq->srv->guard, auth_name_is_valid(name) ? name : NULL,
                         http_remote_addr(rq), mono_ms(), &retry) == 0)
        return 0;
    (void)http_reply_retry(rq, 429, retry, "too many failed logins: try again in %u seconds",
                           retry);
    return -EAGAIN;
}

/* Report the outcome @r of auth_login() or auth_change_password() to the backoff. */
static void guard_end(struct req *rq, const char *name, int r)
{
    enum loginguard_outcome o = r == 0         ? LOGINGUARD_SUCCESS
                                : r == -EACCES ? LOGINGUARD_FAILURE
                                               : LOGINGUARD_ERROR;

    loginguard_end(rq->srv->guard, auth_name_is_valid(name) ? name : NULL, http_remote_addr(rq), o,
                   mono_ms());
}

/* The user name and password of a login, from a form or a JSON body; answers 400 when one is
 * missing (returns -EINVAL then). */
static int login_fields(struct req *rq, char *name, char *password)
{
    if (body_is_json(rq)) {
        json_t *body = http_body_json(rq);
        const char *bad = NULL;

        if (!body)
            return -EINVAL;
        if (json_string_field(body, "username", name, FIELD_MAX) < 0)
            bad = "username";
        else if (json_string_field(body, "password", password, FIELD_MAX) < 0)
            bad = "password";
        json_decref(body);
        if (bad) {
            (void)http_reply_error(rq, 400, bad, "expected a string \"%s\"", bad);
            return -EINVAL;
        }
        return 0;
    }
    if (!http_form_field(rq, "username", name, FIELD_MAX)) {
        (void)http_reply_error(rq, 400, "username", "the form field \"username\" is missing");
        return -EINVAL;
    }
    if (!http_form_field(rq, "password", password, FIELD_MAX)) {
        (void)http_reply_error(rq, 400, "password", "the form field \"password\" is missing");
        return -EINVAL;
    }
    return 0;
}

int h_auth_token(struct req *rq)
{
    char name[FIELD_MAX], password[FIELD_MAX], token[AUTH_SECRET_LEN];
    int64_t ttl = rq->srv->cfg->token_ttl_s;
    int r;

    if (login_fields(rq, name, password) < 0)
        return 0;
    /* Backed off: refused before the (expensive) password check. */
    if (guard_begin(rq, name) < 0) {
        explicit_bzero(password, sizeof(password));
        return 0;
    }
    r = auth_login(rq->srv->store, name, password, ttl, token);
    explicit_bzero(password, sizeof(password));
    guard_end(rq, name, r);
    if (r == -EACCES)
        return http_reply_error(rq, 401, NULL, "wrong username or password");
    if (r < 0)
        return internal_error(rq, r);
    r = http_reply_json(rq, 200,
                        json_pack("{s:s, s:s, s:I}", "access_token", token, "token_type", "bearer",
                                  "expires_in", (json_int_t)ttl));
    explicit_bzero(token, sizeof(token));
    return r;
}

int h_auth_me(struct req *rq)
{
    json_t *me = user_json(rq->who.user_id, rq->who.name, rq->who.admin);

    /* What the user's runs store, against their quota (quota.h). */
    if (me)
        (void)json_object_set_new(me, "usage", quota_usage_json(rq->srv, rq->who.user_id));
    return http_reply_json(rq, 200, me);
}

int h_auth_logout(struct req *rq)
{
    int r;

    if (!rq->who.token_id)
        return http_reply_error(rq, 400, NULL,
                                "only a login token logs out; an API key is revoked with "
                                "DELETE /api/v1/keys/{id}");
    r = store_token_revoke(rq->srv->store, rq->who.token_id, rq->who.user_id);
    if (r < 0 && r != -ENOENT) /* gone already: logged out all the same */
        return internal_error(rq, r);
    return http_reply_bytes(rq, 204, "application/json", "", 0);
}

/* The new password of a password change: 400 answered (-EINVAL) when a field is bad. */
static int password_fields(struct req *rq, char *current, char *new_pw, bool *ret_revoke_keys)
{
    json_t *body = http_body_json(rq), *keys;
    const char *bad = NULL, *why = NULL;

    if (!body)
        return -EINVAL;
    keys = json_object_get(body, "revoke_keys");
    if (json_string_field(body, "current_password", current, FIELD_MAX) < 0)
        bad = "current_password", why = "expected a string";
    else if (json_string_field(body, "new_password", new_pw, FIELD_MAX) < 0 ||
             !auth_password_is_valid(new_pw))
        bad = "new_password", why = "a password is 8 to 1024 bytes";
    else if (keys && !json_is_boolean(keys))
        bad = "revoke_keys", why = "expected true or false";
    *ret_revoke_keys = json_is_true(keys);
    json_decref(body);
    if (!bad)
        return 0;
    (void)http_reply_error(rq, 400, bad, "%s", why);
    return -EINVAL;
}

int h_auth_password(struct req *rq)
{
    char current[FIELD_MAX], new_pw[FIELD_MAX], token[AUTH_SECRET_LEN];
    int64_t ttl = rq->srv->cfg->token_ttl_s;
    bool revoke_keys = false;
    int n_keys = 0, r;

    r = password_fields(rq, current, new_pw, &revoke_keys);
    /* The current password is checked like a login's, and backed off the same way. */
    if (r == 0 && guard_begin(rq, rq->who.name) == 0) {
        r = auth_change_password(rq->srv->store, rq->who.user_id, current, new_pw, ttl, token);
        guard_end(rq, rq->who.name, r);
        if (r == -EACCES)
            (void)http_reply_error(rq, 403, "current_password", "the current password is wrong");
        else if (r == 0 && revoke_keys)
            r = store_key_revoke_all(rq->srv->store, rq->who.user_id, &n_keys);
        if (r < 0 && r != -EACCES)
            (void)internal_error(rq, r);
        else if (r == 0)
            (void)http_reply_json(rq, 200,
                                  json_pack("{s:s, s:s, s:I, s:i}", "access_token", token,
                                            "token_type", "bearer", "expires_in", (json_int_t)ttl,
                                            "revoked_keys", n_keys));
    }
    explicit_bzero(current, sizeof(current));
    explicit_bzero(new_pw, sizeof(new_pw));
    explicit_bzero(token, sizeof(token));
    return 0;
}

/*** Sessions: the caller's own login tokens ***/

int h_tokens_list(struct req *rq)
{
    json_t *tokens, *t;
    size_t i;
    int r = store_token_list(rq->srv->store, rq->who.user_id, (int64_t)time(NULL), &tokens);

    if (r < 0)
        return internal_error(rq, r);
    json_array_foreach(tokens, i, t)
    {
        json_int_t id = json_integer_value(json_object_get(t, "id"));

        (void)json_object_set_new(t, "current", json_boolean(id == rq->who.token_id));
    }
    return http_reply_json(rq, 200, json_pack("{s:o}", "tokens", tokens));
}

int h_tokens_revoke(struct req *rq)
{
    int r = store_token_revoke(rq->srv->store, rq->id, rq->who.user_id);

    if (r == -ENOENT)
        return http_reply_error(rq, 404, NULL, "no token %lld of yours", (long long)rq->id);
    if (r < 0)
        return internal_error(rq, r);
    return http_reply_bytes(rq, 204, "application/json", "", 0);
}

int h_tokens_revoke_all(struct req *rq)
{
    int n = 0, r = store_token_revoke_all(rq->srv->store, rq->who.user_id, &n);

    if (r < 0)
        return internal_error(rq, r);
    return http_reply_json(rq, 200, json_pack("{s:i}", "revoked", n));
}

/*** Users ***/

int h_users_list(struct req *rq)
{
    json_t *users;
    int r = store_user_list(rq->srv->store, &users);

    if (r < 0)
        return internal_error(rq, r);
    quota_users_json(rq->srv, users);
    return http_reply_json(rq, 200, json_pack("{s:o}", "users", users));
}

int h_users_add(struct req *rq)
{
    char name[FIELD_MAX], password[FIELD_MAX];
    json_t *body = http_body_json(rq), *admin;
    int64_t id;
    int r;

    if (!body)
        return 0;
    admin = json_object_get(body, "admin");
    if (json_string_field(body, "username", name, sizeof(name)) < 0 || !auth_name_is_valid(name)) {
        json_decref(body);
        return http_reply_error(rq, 400, "username",
                                "a user name is 1 to 63 of A-Z a-z 0-9 _ . @ -");
    }
    if (json_string_field(body, "password", password, sizeof(password)) < 0 ||
        !auth_password_is_valid(password)) {
        json_decref(body);
        return http_reply_error(rq, 400, "password", "a password is 8 to 1024 bytes");
    }
    if (admin && !json_is_boolean(admin)) {
        json_decref(body);
        return http_reply_error(rq, 400, "admin", "expected true or false");
    }
    r = auth_user_add(rq->srv->store, name, password, json_is_true(admin), &id);
    explicit_bzero(password, sizeof(password));
    json_decref(body);
    if (r == -EEXIST)
        return http_reply_error(rq, 409, "username", "the user '%s' exists already", name);
    if (r < 0)
        return internal_error(rq, r);
    return http_reply_json(rq, 201, user_json(id, name, json_is_true(admin)));
}

int h_users_delete(struct req *rq)
{
    int r;

    /* An admin who deletes themselves may leave nobody able to manage the server. */
    if (rq->id == rq->who.user_id)
        return http_reply_error(rq, 409, NULL, "you cannot delete yourself");
    r = store_user_delete(rq->srv->store, rq->id);
    if (r == -ENOENT)
        return http_reply_error(rq, 404, NULL, "no user %lld", (long long)rq->id);
    if (r < 0)
        return internal_error(rq, r);
    return http_reply_bytes(rq, 204, "application/json", "", 0);
}

/*** API keys ***/

int h_keys_list(struct req *rq)
{
    json_t *keys;
    int r = store_key_list(rq->srv->store, rq->who.admin ? 0 : rq->who.user_id, &keys);

    if (r < 0)
        return internal_error(rq, r);
    return http_reply_json(rq, 200, json_pack("{s:o}", "keys", keys));
}

int h_keys_add(struct req *rq)
{
    char name[FIELD_MAX] = "", key[AUTH_SECRET_LEN];
    json_t *body = http_body_json(rq), *uid;
    int64_t user_id = rq->who.user_id, id;
    int r;

    if (!body)
        return 0;
    uid = json_object_get(body, "user_id");
    if (uid && (!json_is_integer(uid) || json_integer_value(uid) <= 0)) {
        json_decref(body);
        return http_reply_error(rq, 400, "user_id", "expected a user id");
    }
    if (uid)
        user_id = json_integer_value(uid);
    r = json_object_get(body, "name") ? json_string_field(body, "name", name, KEY_NAME_MAX + 1) : 0;
    json_decref(body);
    if (r < 0)
        return http_reply_error(rq, 400, "name", "expected a string of at most %d bytes",
                                KEY_NAME_MAX);

    r = auth_key_create(rq->srv->store, user_id, name, key, &id);
    if (r == -ENOENT)
        return http_reply_error(rq, 404, "user_id", "no user %lld", (long long)user_id);
    if (r == -EINVAL)
        return http_reply_error(rq, 400, "name", "expected a string of at most %d bytes",
                                KEY_NAME_MAX);
    if (r < 0)
        return internal_error(rq, r);
    r = http_reply_json(rq, 201,
                        json_pack("{s:I, s:s, s:s, s:I}", "id", (json_int_t)id, "key", key, "name",
                                  name, "user_id", (json_int_t)user_id));
    explicit_bzero(key, sizeof(key));
    return r;
}

int h_keys_revoke(struct req *rq)
{
    /* An admin revokes anyone's key, a user their own. */
    int r = store_key_revoke_of(rq->srv->store, rq->id, rq->who.admin ? 0 : rq->who.user_id);

    if (r == -ENOENT)
        return http_reply_error(rq, 404, NULL, "no key %lld", (long long)rq->id);
    if (r < 0)
        return internal_error(rq, r);
    return http_reply_bytes(rq, 204, "application/json", "", 0);
}

int h_keys_revoke_all(struct req *rq)
{
    int n = 0, r = store_key_revoke_all(rq->srv->store, rq->who.user_id, &n);

    if (r < 0)
        return internal_error(rq, r);
    return http_reply_json(rq, 200, json_pack("{s:i}", "revoked", n));
}
