/* Unit tests of src/server/auth.c: password hashing, name rules, and login tokens and API keys
 * through a real store in a temporary directory. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/auth.h"
#include "store/store.h"

struct fixture {
    char dir[64];
    struct store *store;
};

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int store_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256] = "";

    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/runbox-test-auth-XXXXXX");
    if (!mkdtemp(f->dir) || store_open(f->dir, &f->store, err, sizeof(err)) < 0) {
        fprintf(stderr, "store_open: %s\n", err);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int store_teardown(void **state)
{
    struct fixture *f = *state;

    store_free(f->store);
    (void)nftw(f->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    return auth_init() < 0 ? -1 : 0;
}

/* "Bearer @secret" into @buf. */
static const char *bearer(char *buf, size_t len, const char *secret)
{
    snprintf(buf, len, "Bearer %s", secret);
    return buf;
}

/*** Without a store ***/

static void test_password_hash_matches_only_its_password(void **state)
{
    char hash[160];

    (void)state;
    assert_int_equal(auth_hash_password("correct horse", hash, sizeof(hash)), 0);
    assert_true(strncmp(hash, "$argon2id$", 10) == 0);
    assert_true(auth_password_matches(hash, "correct horse"));
    assert_false(auth_password_matches(hash, "correct horsE"));
    assert_false(auth_password_matches(hash, ""));
    assert_false(auth_password_matches("", "correct horse"));
    assert_false(auth_password_matches(NULL, "correct horse"));
}

static void test_password_hash_refuses_bad_passwords_and_small_buffers(void **state)
{
    char hash[160], small[16];

    (void)state;
    assert_int_equal(auth_hash_password("short", hash, sizeof(hash)), -EINVAL);
    assert_int_equal(auth_hash_password("long enough", small, sizeof(small)), -ENOBUFS);
}

static void test_names_and_passwords_follow_the_rules(void **state)
{
    char long_name[65], long_pw[1026];

    (void)state;
    assert_true(auth_name_is_valid("alice"));
    assert_true(auth_name_is_valid("a.b-c_d@example.org"));
    assert_true(auth_name_is_valid("x"));
    assert_false(auth_name_is_valid(""));
    assert_false(auth_name_is_valid(NULL));
    assert_false(auth_name_is_valid("with space"));
    assert_false(auth_name_is_valid("slash/"));
    assert_false(auth_name_is_valid("caf\xc3\xa9"));
    memset(long_name, 'a', sizeof(long_name));
    long_name[63] = '\0';
    assert_true(auth_name_is_valid(long_name));
    long_name[63] = 'a';
    long_name[64] = '\0';
    assert_false(auth_name_is_valid(long_name));

    assert_true(auth_password_is_valid("12345678"));
    assert_false(auth_password_is_valid("1234567"));
    assert_false(auth_password_is_valid(NULL));
    memset(long_pw, 'p', sizeof(long_pw));
    long_pw[1024] = '\0';
    assert_true(auth_password_is_valid(long_pw));
    long_pw[1024] = 'p';
    long_pw[1025] = '\0';
    assert_false(auth_password_is_valid(long_pw));
}

/*** With a store ***/

static void test_login_issues_a_token_that_authenticates(void **state)
{
    struct fixture *f = *state;
    struct auth_principal who;
    char token[AUTH_SECRET_LEN], h[128];
    int64_t id;

    assert_int_equal(auth_user_add(f->store, "alice", "alice-password", false, &id), 0);
    assert_int_equal(auth_login(f->store, "alice", "alice-password", 3600, token), 0);
    assert_int_equal(strlen(token), AUTH_SECRET_LEN - 1);
    assert_true(strncmp(token, AUTH_TOKEN_PREFIX, 4) == 0);
    assert_int_equal(auth_check_bearer(f->store, bearer(h, sizeof(h), token), &who), 0);
    assert_int_equal(who.user_id, id);
    assert_int_equal(who.key_id, 0);
    assert_false(who.admin);
    assert_string_equal(who.name, "alice");

    /* The scheme in any case, and spaces around. */
    snprintf(h, sizeof(h), "  bEaReR   %s  ", token);
    assert_int_equal(auth_check_bearer(f->store, h, &who), 0);
    assert_int_equal(who.user_id, id);
}

static void test_login_refuses_wrong_password_and_unknown_user(void **state)
{
    struct fixture *f = *state;
    char token[AUTH_SECRET_LEN];
    int64_t id;

    assert_int_equal(auth_user_add(f->store, "bob", "bob-password", true, &id), 0);
    assert_int_equal(auth_login(f->store, "bob", "not-bobs-password", 3600, token), -EACCES);
    assert_int_equal(auth_login(f->store, "nobody", "bob-password", 3600, token), -EACCES);
    assert_int_equal(auth_login(f->store, "bad name", "bob-password", 3600, token), -EACCES);
    assert_int_equal(auth_login(f->store, "bob", NULL, 3600, token), -EACCES);
}

static void test_user_add_refuses_duplicates_and_bad_input(void **state)
{
    struct fixture *f = *state;
    int64_t id;

    assert_int_equal(auth_user_add(f->store, "carol", "carol-password", false, &id), 0);
    assert_int_equal(auth_user_add(f->store, "carol", "other-password", false, &id), -EEXIST);
    assert_int_equal(auth_user_add(f->store, "bad name", "carol-password", false, &id), -EINVAL);
    assert_int_equal(auth_user_add(f->store, "dave", "short", false, &id), -EINVAL);
}

static void test_expired_token_is_refused(void **state)
{
    struct fixture *f = *state;
    struct auth_principal who;
    char token[AUTH_SECRET_LEN], h[128];
    int64_t id;

    assert_int_equal(auth_user_add(f->store, "erin", "erin-password", false, &id), 0);
    assert_int_equal(auth_login(f->store, "erin", "erin-password", -10, token), 0);
    assert_int_equal(auth_check_bearer(f->store, bearer(h, sizeof(h), token), &who), -EACCES);
}

static void test_api_key_authenticates_until_revoked(void **state)
{
    struct fixture *f = *state;
    struct auth_principal who;
    char key[AUTH_SECRET_LEN], h[128];
    int64_t uid, kid;

    assert_int_equal(auth_user_add(f->store, "frank", "frank-password", true, &uid), 0);
    assert_int_equal(auth_key_create(f->store, uid, "ci", key, &kid), 0);
    assert_int_equal(strlen(key), AUTH_SECRET_LEN - 1);
    assert_true(strncmp(key, AUTH_KEY_PREFIX, 4) == 0);
    assert_int_equal(auth_check_bearer(f->store, bearer(h, sizeof(h), key), &who), 0);
    assert_int_equal(who.user_id, uid);
    assert_int_equal(who.key_id, kid);
    assert_true(who.admin);
    assert_string_equal(who.name, "frank");

    assert_int_equal(store_key_revoke(f->store, kid), 0);
    assert_int_equal(auth_check_bearer(f->store, h, &who), -EACCES);
}

static void test_key_for_a_missing_user_is_refused(void **state)
{
    struct fixture *f = *state;
    char key[AUTH_SECRET_LEN];
    int64_t kid;

    assert_int_equal(auth_key_create(f->store, 4242, "x", key, &kid), -ENOENT);
}

static void test_secrets_of_a_deleted_user_are_refused(void **state)
{
    struct fixture *f = *state;
    struct auth_principal who;
    char token[AUTH_SECRET_LEN], key[AUTH_SECRET_LEN], h1[128], h2[128];
    int64_t uid, kid;

    assert_int_equal(auth_user_add(f->store, "gina", "gina-password", false, &uid), 0);
    assert_int_equal(auth_login(f->store, "gina", "gina-password", 3600, token), 0);
    assert_int_equal(auth_key_create(f->store, uid, "", key, &kid), 0);
    assert_int_equal(store_user_delete(f->store, uid), 0);
    assert_int_equal(auth_check_bearer(f->store, bearer(h1, sizeof(h1), token), &who), -EACCES);
    assert_int_equal(auth_check_bearer(f->store, bearer(h2, sizeof(h2), key), &who), -EACCES);
}

static void test_malformed_authorization_is_refused(void **state)
{
    struct fixture *f = *state;
    struct auth_principal who;
    char token[AUTH_SECRET_LEN], h[160];
    int64_t id;
    static const char *const bad[] = {
            "",
            "Basic x",
            "Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ=",
            "Bearer",
            "Bearer ",
            "Bearer rbt_short",
            "Bearerrbt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            /* Well formed, but no such token or key. */
            "Bearer rbt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "Bearer rbk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            /* Not base64url, or the wrong prefix. */
            "Bearer rbt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
            "Bearer xyz_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };

    assert_int_equal(auth_check_bearer(f->store, NULL, &who), -EACCES);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (auth_check_bearer(f->store, bad[i], &who) != -EACCES)
            fail_msg("accepted '%s'", bad[i]);
    }

    /* A real token, cut short, extended, or under another scheme. */
    assert_int_equal(auth_user_add(f->store, "hank", "hank-password", false, &id), 0);
    assert_int_equal(auth_login(f->store, "hank", "hank-password", 3600, token), 0);
    snprintf(h, sizeof(h), "Bearer %.46s", token);
    assert_int_equal(auth_check_bearer(f->store, h, &who), -EACCES);
    snprintf(h, sizeof(h), "Bearer %sA", token);
    assert_int_equal(auth_check_bearer(f->store, h, &who), -EACCES);
    snprintf(h, sizeof(h), "Token %s", token);
    assert_int_equal(auth_check_bearer(f->store, h, &who), -EACCES);
    /* A token presented as a key (the prefix picks the table). */
    snprintf(h, sizeof(h), "Bearer rbk_%s", token + 4);
    assert_int_equal(auth_check_bearer(f->store, h, &who), -EACCES);
}

static void test_local_principal_is_one_admin(void **state)
{
    struct fixture *f = *state;
    struct auth_principal a, b;
    char token[AUTH_SECRET_LEN];

    assert_int_equal(auth_local_principal(f->store, &a), 0);
    assert_true(a.admin);
    assert_string_equal(a.name, "local");
    assert_int_equal(a.key_id, 0);
    assert_int_equal(auth_local_principal(f->store, &b), 0);
    assert_int_equal(a.user_id, b.user_id);
    /* Its password is known to nobody: no guess logs in. */
    assert_int_equal(auth_login(f->store, "local", "local-password", 3600, token), -EACCES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_password_hash_matches_only_its_password),
            cmocka_unit_test(test_password_hash_refuses_bad_passwords_and_small_buffers),
            cmocka_unit_test(test_names_and_passwords_follow_the_rules),
#define STORE_TEST(t) cmocka_unit_test_setup_teardown(t, store_setup, store_teardown)
            STORE_TEST(test_login_issues_a_token_that_authenticates),
            STORE_TEST(test_login_refuses_wrong_password_and_unknown_user),
            STORE_TEST(test_user_add_refuses_duplicates_and_bad_input),
            STORE_TEST(test_expired_token_is_refused),
            STORE_TEST(test_api_key_authenticates_until_revoked),
            STORE_TEST(test_key_for_a_missing_user_is_refused),
            STORE_TEST(test_secrets_of_a_deleted_user_are_refused),
            STORE_TEST(test_malformed_authorization_is_refused),
            STORE_TEST(test_local_principal_is_one_admin),
#undef STORE_TEST
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
