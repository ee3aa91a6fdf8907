/* Unit tests of src/store, on both backends. Every test that is not about one backend runs
 * twice, each time on a fresh database: on SQLite in a temp dir, and on PostgreSQL in a
 * database of its own (CREATE DATABASE on the server of $RUNBOX_TEST_PG_URL, dropped after the
 * test). Without $RUNBOX_TEST_PG_URL the PostgreSQL runs are reported as skipped; tests/run.sh
 * always starts a server and sets it. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "common/util.h"
#include "store/store-int.h"
#include "store/store.h"

enum backend {
    SQLITE,
    POSTGRES,
};

struct fixture {
    enum backend backend;
    /* PostgreSQL without $RUNBOX_TEST_PG_URL: the test skips itself. */
    bool skip;
    /* SQLite: the data dir. */
    char dir[64];
    /* PostgreSQL: the test's own database, and its URL. */
    char db_name[64];
    char url[512];
    struct store *s;
    int64_t alice;
    int64_t bob;
};

/* The PostgreSQL server of the tests, or NULL. */
static const char *pg_server(void)
{
    const char *url = getenv("RUNBOX_TEST_PG_URL");

    return url && *url ? url : NULL;
}

/* The fixture of a test; a PostgreSQL test without a server stops here as skipped. */
static struct fixture *fixture(void **state)
{
    struct fixture *f = *state;

    if (f->skip)
        skip();
    return f;
}

/*** PostgreSQL: the tests' own connections to the server ***/

static PGconn *pg_connect(const char *url)
{
    PGconn *pg = PQconnectdb(url);
    char msg[512];

    assert_non_null(pg);
    if (PQstatus(pg) != CONNECTION_OK) {
        (void)snprintf(msg, sizeof(msg), "%s", PQerrorMessage(pg));
        PQfinish(pg);
        fail_msg("cannot connect to the test server: %s", msg);
    }
    return pg;
}

/* Run @sql on a connection of its own to @url; the first column of its first row as an
 * integer (0 when there is none). */
static int64_t pg_run(const char *url, const char *sql)
{
    PGconn *pg = pg_connect(url);
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int64_t n = 0;
    char msg[512];

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        (void)snprintf(msg, sizeof(msg), "%s", PQerrorMessage(pg));
        PQclear(res);
        PQfinish(pg);
        fail_msg("%s: %s", sql, msg);
    }
    if (st == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    PQfinish(pg);
    return n;
}

/* @base (a server's URL) with its database replaced by @name, its parameters kept. */
static void url_with_db(const char *base, const char *name, char *buf, size_t len)
{
    const char *auth = strstr(base, "://");
    size_t end;

    assert_non_null(auth);
    auth += 3;
    end = (size_t)(auth - base) + strcspn(auth, "/?#");
    assert_true((size_t)snprintf(buf, len, "%.*s/%s%s", (int)end, base, name,
                                 base + end + strcspn(base + end, "?#")) < len);
}

/* A new, empty database on the test server for @f. Its name is ours ([a-z0-9_] only), so it
 * is safe to put in SQL text. */
static void create_db(struct fixture *f)
{
    static unsigned n;
    char sql[128];

    (void)snprintf(f->db_name, sizeof(f->db_name), "runbox_test_%d_%u", (int)getpid(), ++n);
    (void)snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", f->db_name);
    (void)pg_run(pg_server(), sql);
    url_with_db(pg_server(), f->db_name, f->url, sizeof(f->url));
}

static void drop_db(const char *name)
{
    char sql[128];

    /* FORCE: a connection some test left behind must not keep the database. */
    (void)snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
    (void)pg_run(pg_server(), sql);
}

/* End every server connection to @f's database, waiting until they are gone. */
static void kill_connections(struct fixture *f)
{
    char sql[256];

    (void)snprintf(sql, sizeof(sql),
                   "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
                   " WHERE datname = '%s' AND pid <> pg_backend_pid()",
                   f->db_name);
    (void)pg_run(pg_server(), sql);
}

/*** Fixtures ***/

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

/* Open @f's database (again). */
static int open_store(struct fixture *f, struct store **ret, char *err, size_t errlen)
{
    if (f->backend == SQLITE)
        return store_open(f->dir, ret, err, errlen);
    return store_open_url(f->url, NULL, ret, err, errlen);
}

/* Open the fresh database of @f, with the users alice and bob. */
static void open_with_users(struct fixture *f)
{
    char err[512] = "";

    if (open_store(f, &f->s, err, sizeof(err)) < 0)
        fail_msg("cannot open the store: %s", err);
    assert_int_equal(store_user_add(f->s, "alice", "hash-a", false, &f->alice), 0);
    assert_int_equal(store_user_add(f->s, "bob", "hash-b", false, &f->bob), 0);
}

static int setup_sqlite(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    *state = f;
    f->backend = SQLITE;
    (void)snprintf(f->dir, sizeof(f->dir), "/tmp/runbox-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    open_with_users(f);
    return 0;
}

/* A fixture on a new PostgreSQL database, not opened yet (or one that skips). */
static int setup_pg_empty(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    *state = f;
    f->backend = POSTGRES;
    f->skip = !pg_server();
    if (!f->skip)
        create_db(f);
    return 0;
}

static int setup_pg(void **state)
{
    struct fixture *f;

    (void)setup_pg_empty(state);
    f = *state;
    if (!f->skip)
        open_with_users(f);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    if (!f)
        return 0;
    f->s = store_free(f->s);
    if (f->dir[0])
        assert_int_equal(nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
    if (f->db_name[0])
        drop_db(f->db_name);
    free(f);
    return 0;
}

/*** Helpers ***/

/* Insert a queued run of @user_id; code and request are kept when @history. */
static int64_t add_run(struct store *s, int64_t user_id, int64_t project_id, const char *language,
                       bool history, int64_t created_at)
{
    json_t *req = json_pack("{ss}", "language", language);
    struct store_run_new rn = {
            .user_id = user_id,
            .project_id = project_id,
            .language = language,
            .code = "print(1)",
            .request = req,
            .save_history = history,
            .callback_url = NULL,
            .created_at = created_at,
    };
    int64_t id = 0;

    assert_int_equal(store_run_insert(s, &rn, &id), 0);
    assert_true(id > 0);
    json_decref(req);
    return id;
}

static void finish_run(struct store *s, int64_t id, const char *status, int exit_code,
                       double seconds)
{
    json_t *res = json_pack("{sssisssf}", "status", status, "exit_code", exit_code, "output", "1\n",
                            "execution_time", seconds);

    assert_int_equal(store_run_finish(s, id, status, res, seconds, 1000), 0);
    json_decref(res);
}

/* count(*) of @what ("table [WHERE ...]", a constant) in @f's database, read with a connection
 * of our own. */
static int64_t count_rows(struct fixture *f, const char *what)
{
    char path[128], sql[256];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n;

    (void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", what);
    if (f->backend == POSTGRES)
        return pg_run(f->url, sql);
    (void)snprintf(path, sizeof(path), "%s/runbox.db", f->dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    (void)sqlite3_finalize(st);
    (void)sqlite3_close(db);
    return n;
}

/* Write schema version @version into @f's database, behind the store's back. */
static void set_schema_version(struct fixture *f, int version)
{
    char path[128], sql[128];
    sqlite3 *db = NULL;

    if (f->backend == POSTGRES) {
        (void)snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d", version);
        (void)pg_run(f->url, sql);
        return;
    }
    (void)snprintf(path, sizeof(path), "%s/runbox.db", f->dir);
    (void)snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    (void)sqlite3_close(db);
}

/*** Opening (SQLite) ***/

static void test_open_creates_missing_dirs_private(void **state)
{
    struct fixture *f = fixture(state);
    struct store *s = NULL;
    char dir[128], err[256] = "";
    struct stat st;

    (void)snprintf(dir, sizeof(dir), "%s/a/b", f->dir);
    assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    (void)snprintf(dir, sizeof(dir), "%s/a/b/runbox.db", f->dir);
    assert_int_equal(stat(dir, &st), 0);
    s = store_free(s);
    assert_null(s);
    assert_null(store_free(NULL));
}

static void test_open_fails_with_a_reason(void **state)
{
    struct store *s = NULL;
    char err[256] = "";

    (void)state;
    assert_true(store_open("/proc/self/no/such/dir", &s, err, sizeof(err)) < 0);
    assert_null(s);
    assert_true(strlen(err) > 0);
}

/*** On both backends ***/

static void test_migrations_are_idempotent_on_reopen(void **state)
{
    struct fixture *f = fixture(state);
    struct store_user u;
    char err[256] = "";
    int version = store_schema_version(f->s);

    assert_true(version >= 1);
    f->s = store_free(f->s);
    assert_int_equal(open_store(f, &f->s, err, sizeof(err)), 0);
    assert_int_equal(store_schema_version(f->s), version);
    /* The data survived, and the tables were not created twice. */
    assert_int_equal(store_user_by_name(f->s, "alice", &u), 0);
    assert_int_equal(u.id, f->alice);
    f->s = store_free(f->s);
    assert_int_equal(open_store(f, &f->s, err, sizeof(err)), 0);
    assert_int_equal(store_schema_version(f->s), version);
    assert_int_equal(count_rows(f, "users"), 2);
    if (f->backend == POSTGRES)
        assert_int_equal(count_rows(f, "schema_version"), 1);
}

static void test_open_refuses_a_newer_schema(void **state)
{
    struct fixture *f = fixture(state);
    char err[256] = "";

    f->s = store_free(f->s);
    set_schema_version(f, 999);
    assert_int_equal(open_store(f, &f->s, err, sizeof(err)), -EPROTO);
    assert_null(f->s);
    assert_non_null(strstr(err, "999"));
    /* Nothing was changed: still refused. */
    assert_int_equal(open_store(f, &f->s, err, sizeof(err)), -EPROTO);
}

static void test_user_lookup_by_name_and_id(void **state)
{
    struct fixture *f = fixture(state);
    struct store_user u;
    int64_t id = 0;

    assert_int_equal(store_user_add(f->s, "root", "$argon2id$x", true, &id), 0);
    assert_int_equal(store_user_by_name(f->s, "root", &u), 0);
    assert_int_equal(u.id, id);
    assert_string_equal(u.name, "root");
    assert_string_equal(u.pw_hash, "$argon2id$x");
    assert_true(u.admin);
    assert_true(u.created_at > 1600000000);
    assert_int_equal(store_user_by_id(f->s, f->alice, &u), 0);
    assert_string_equal(u.name, "alice");
    assert_false(u.admin);
    assert_int_equal(store_user_by_name(f->s, "nobody", &u), -ENOENT);
    assert_int_equal(store_user_by_id(f->s, 9999, &u), -ENOENT);
    /* A name with SQL in it is only data. */
    assert_int_equal(store_user_add(f->s, "x'; DROP TABLE users; --", "h", false, NULL), 0);
    assert_int_equal(store_user_by_name(f->s, "x'; DROP TABLE users; --", &u), 0);
}

static void test_user_add_duplicate_name_is_eexist(void **state)
{
    struct fixture *f = fixture(state);
    int64_t id = -1;

    assert_int_equal(store_user_add(f->s, "alice", "other", true, &id), -EEXIST);
    assert_int_equal(id, -1);
    /* SQLite says "UNIQUE constraint failed", PostgreSQL "violates unique constraint". */
    assert_non_null(strcasestr(store_error(), "unique"));
}

static void test_user_add_rejects_names_that_do_not_fit(void **state)
{
    struct fixture *f = fixture(state);
    char name[65];

    memset(name, 'n', 64);
    name[64] = '\0';
    assert_int_equal(store_user_add(f->s, name, "h", false, NULL), -EINVAL);
    name[63] = '\0';
    assert_int_equal(store_user_add(f->s, name, "h", false, NULL), 0);
    assert_int_equal(store_user_add(f->s, "", "h", false, NULL), -EINVAL);
}

static void test_user_set_password(void **state)
{
    struct fixture *f = fixture(state);
    struct store_user u;

    assert_int_equal(store_user_set_password(f->s, f->alice, "new-hash"), 0);
    assert_int_equal(store_user_by_id(f->s, f->alice, &u), 0);
    assert_string_equal(u.pw_hash, "new-hash");
    assert_int_equal(store_user_set_password(f->s, 9999, "x"), -ENOENT);
}

static void test_user_list_oldest_first(void **state)
{
    struct fixture *f = fixture(state);
    json_t *list = NULL, *u;

    assert_int_equal(store_user_add(f->s, "carol", "h", true, NULL), 0);
    assert_int_equal(store_user_list(f->s, &list), 0);
    assert_int_equal(json_array_size(list), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")),
                        "alice");
    u = json_array_get(list, 2);
    assert_string_equal(json_string_value(json_object_get(u, "name")), "carol");
    assert_true(json_is_true(json_object_get(u, "admin")));
    assert_true(json_is_integer(json_object_get(u, "created_at")));
    assert_null(json_object_get(u, "pw_hash"));
    json_decref(list);
}

static void test_user_delete_takes_keys_tokens_and_runs(void **state)
{
    struct fixture *f = fixture(state);
    struct store_user u;
    json_t *run = NULL;
    int64_t run_id, key_id, uid, id = 0;

    assert_int_equal(store_key_add(f->s, f->alice, "ci", "khash", &key_id), 0);
    assert_int_equal(store_token_add(f->s, f->alice, 0, "thash", 100), 0);
    run_id = add_run(f->s, f->alice, 0, "python", true, 1);
    assert_int_equal(store_delivery_log(f->s, run_id, "http://x/", 1, 500, "boom", 5), 0);
    (void)add_run(f->s, f->bob, 0, "python", true, 1);

    assert_int_equal(store_user_delete(f->s, f->alice), 0);
    assert_int_equal(store_user_by_id(f->s, f->alice, &u), -ENOENT);
    assert_int_equal(store_key_lookup(f->s, "khash", &uid, &key_id), -ENOENT);
    assert_int_equal(store_token_lookup(f->s, "thash", 0, &uid, NULL), -ENOENT);
    assert_int_equal(store_run_get(f->s, run_id, 0, &run), -ENOENT);
    assert_int_equal(count_rows(f, "api_keys"), 0);
    assert_int_equal(count_rows(f, "tokens"), 0);
    assert_int_equal(count_rows(f, "runs"), 1); /* bob's */
    assert_int_equal(count_rows(f, "webhook_deliveries"), 0);
    assert_int_equal(store_user_delete(f->s, f->alice), -ENOENT);
    /* The id is never handed out again. */
    assert_int_equal(store_user_add(f->s, "alice", "h", false, &id), 0);
    assert_true(id > f->bob);
}

static void test_key_lookup_fails_after_revoke(void **state)
{
    struct fixture *f = fixture(state);
    int64_t key_id = 0, uid = 0, kid = 0;

    assert_int_equal(store_key_add(f->s, f->alice, "laptop", "hash1", &key_id), 0);
    assert_int_equal(store_key_lookup(f->s, "hash1", &uid, &kid), 0);
    assert_int_equal(uid, f->alice);
    assert_int_equal(kid, key_id);
    assert_int_equal(store_key_lookup(f->s, "hash2", &uid, &kid), -ENOENT);
    assert_int_equal(store_key_revoke(f->s, key_id), 0);
    assert_int_equal(store_key_lookup(f->s, "hash1", &uid, &kid), -ENOENT);
    assert_int_equal(store_key_revoke(f->s, key_id), -ENOENT);
    assert_int_equal(store_key_revoke(f->s, 9999), -ENOENT);
}

static void test_key_add_checks_owner_and_uniqueness(void **state)
{
    struct fixture *f = fixture(state);

    assert_int_equal(store_key_add(f->s, 9999, "ghost", "h", NULL), -ENOENT);
    assert_int_equal(store_key_add(f->s, f->alice, "a", "same", NULL), 0);
    assert_int_equal(store_key_add(f->s, f->bob, "b", "same", NULL), -EEXIST);
}

static void test_key_list_per_user_and_all(void **state)
{
    struct fixture *f = fixture(state);
    json_t *all = NULL, *mine = NULL, *k;
    int64_t id = 0;

    assert_int_equal(store_key_add(f->s, f->alice, "a1", "h1", &id), 0);
    assert_int_equal(store_key_add(f->s, f->bob, "b1", "h2", NULL), 0);
    assert_int_equal(store_key_revoke(f->s, id), 0);
    assert_int_equal(store_key_list(f->s, 0, &all), 0);
    assert_int_equal(json_array_size(all), 2);
    assert_int_equal(store_key_list(f->s, f->bob, &mine), 0);
    assert_int_equal(json_array_size(mine), 1);
    k = json_array_get(mine, 0);
    assert_string_equal(json_string_value(json_object_get(k, "user")), "bob");
    assert_string_equal(json_string_value(json_object_get(k, "name")), "b1");
    assert_int_equal(json_integer_value(json_object_get(k, "user_id")), f->bob);
    assert_true(json_is_null(json_object_get(k, "revoked_at")));
    assert_null(json_object_get(k, "key_hash"));
    k = json_array_get(all, 0);
    assert_true(json_is_integer(json_object_get(k, "revoked_at")));
    json_decref(all);
    json_decref(mine);
}

static void test_token_expires_and_is_pruned(void **state)
{
    struct fixture *f = fixture(state);
    int64_t uid = 0;

    assert_int_equal(store_token_add(f->s, f->bob, 0, "tok", 100), 0);
    assert_int_equal(store_token_add(f->s, f->bob, 0, "tok", 200), -EEXIST);
    assert_int_equal(store_token_add(f->s, 9999, 0, "ghost", 200), -ENOENT);
    assert_int_equal(store_token_lookup(f->s, "tok", 99, &uid, NULL), 0);
    assert_int_equal(uid, f->bob);
    assert_int_equal(store_token_lookup(f->s, "tok", 100, &uid, NULL), -ENOENT);
    assert_int_equal(store_token_lookup(f->s, "other", 0, &uid, NULL), -ENOENT);
    assert_int_equal(store_token_prune(f->s, 100), 0);
    assert_int_equal(count_rows(f, "tokens"), 1);
    assert_int_equal(store_token_prune(f->s, 101), 0);
    assert_int_equal(count_rows(f, "tokens"), 0);
}

static void test_run_lifecycle_keeps_code_request_and_result(void **state)
{
    struct fixture *f = fixture(state);
    json_t *run = NULL, *res;
    int64_t id = add_run(f->s, f->alice, 7, "python", true, 1000);

    assert_int_equal(store_run_get(f->s, id, f->alice, &run), 0);
    assert_string_equal(json_string_value(json_object_get(run, "state")), "queued");
    assert_true(json_is_null(json_object_get(run, "status")));
    assert_true(json_is_null(json_object_get(run, "result")));
    assert_true(json_is_null(json_object_get(run, "started_at")));
    assert_string_equal(json_string_value(json_object_get(run, "code")), "print(1)");
    assert_string_equal(
            json_string_value(json_object_get(json_object_get(run, "request"), "language")),
            "python");
    assert_int_equal(json_integer_value(json_object_get(run, "project_id")), 7);
    assert_int_equal(json_integer_value(json_object_get(run, "created_at")), 1000);
    assert_true(json_is_true(json_object_get(run, "in_history")));
    assert_true(json_is_null(json_object_get(run, "node")));
    assert_int_equal(json_integer_value(json_object_get(run, "attempts")), 0);
    json_decref(run);

    assert_int_equal(store_run_set_running(f->s, id, 1100), 0);
    assert_int_equal(store_run_get(f->s, id, f->alice, &run), 0);
    assert_string_equal(json_string_value(json_object_get(run, "state")), "running");
    assert_int_equal(json_integer_value(json_object_get(run, "started_at")), 1100);
    json_decref(run);

    finish_run(f->s, id, "success", 0, 0.25);
    assert_int_equal(store_run_set_running(f->s, id, 1200), -ENOENT);
    assert_int_equal(store_run_get(f->s, id, f->alice, &run), 0);
    assert_string_equal(json_string_value(json_object_get(run, "state")), "done");
    assert_string_equal(json_string_value(json_object_get(run, "status")), "success");
    assert_true(json_real_value(json_object_get(run, "execution_time")) == 0.25);
    assert_int_equal(json_integer_value(json_object_get(run, "finished_at")), 1000);
    res = json_object_get(run, "result");
    assert_true(json_is_object(res));
    assert_string_equal(json_string_value(json_object_get(res, "output")), "1\n");
    json_decref(run);
    assert_int_equal(store_run_finish(f->s, 9999, "success", NULL, 0, 0), -ENOENT);
    assert_int_equal(store_run_set_running(f->s, 9999, 0), -ENOENT);
}

/* The server's batched marks: one transaction; a finished run or a missing one is left as it
 * is and does not stop the others. */
static void test_runs_marked_running_together_leave_a_done_run_done(void **state)
{
    struct fixture *f = fixture(state);
    int64_t a = add_run(f->s, f->alice, 0, "a", true, 1);
    int64_t b = add_run(f->s, f->alice, 0, "b", true, 1);
    int64_t done = add_run(f->s, f->alice, 0, "c", true, 1);
    json_t *run = NULL;

    finish_run(f->s, done, "success", 0, 0.1);
    const struct store_run_started marks[] = {{a, 1100}, {done, 1200}, {9999, 1300}, {b, 1400}};
    assert_int_equal(store_run_set_running_many(f->s, marks, ARRAY_SIZE(marks)), 0);
    assert_int_equal(store_run_set_running_many(f->s, NULL, 0), 0);
    const int64_t ids[] = {a, b, done};
    const char *states[] = {"running", "running", "done"};
    const int64_t started[] = {1100, 1400, -1};
    for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
        assert_int_equal(store_run_get(f->s, ids[i], f->alice, &run), 0);
        assert_string_equal(json_string_value(json_object_get(run, "state")), states[i]);
        if (started[i] >= 0)
            assert_int_equal(json_integer_value(json_object_get(run, "started_at")), started[i]);
        else
            assert_string_equal(json_string_value(json_object_get(run, "status")), "success");
        json_decref(run);
    }
}

static void test_run_without_history_keeps_only_the_result(void **state)
{
    struct fixture *f = fixture(state);
    struct store_history_query q = {.user_id = f->alice, .limit = 10};
    json_t *run = NULL, *hist = NULL;
    int64_t id = add_run(f->s, f->alice, 0, "c", false, 1);

    finish_run(f->s, id, "success", 0, 1.0);
    assert_int_equal(store_run_get(f->s, id, f->alice, &run), 0);
    assert_true(json_is_null(json_object_get(run, "code")));
    assert_true(json_is_null(json_object_get(run, "request")));
    assert_true(json_is_object(json_object_get(run, "result")));
    assert_true(json_is_false(json_object_get(run, "in_history")));
    json_decref(run);
    assert_int_equal(store_run_history(f->s, &q, &hist), 0);
    assert_int_equal(json_array_size(json_object_get(hist, "runs")), 0);
    json_decref(hist);
}

static void test_run_of_another_user_is_enoent(void **state)
{
    struct fixture *f = fixture(state);
    json_t *run = NULL;
    int64_t id = add_run(f->s, f->alice, 0, "python", true, 1);

    assert_int_equal(store_run_get(f->s, id, f->bob, &run), -ENOENT);
    assert_null(run);
    assert_int_equal(store_run_delete(f->s, id, f->bob), -ENOENT);
    assert_int_equal(store_run_get(f->s, id, 0, &run), 0); /* an admin sees it */
    json_decref(run);
    assert_int_equal(store_run_delete(f->s, id, f->alice), 0);
    assert_int_equal(store_run_get(f->s, id, 0, &run), -ENOENT);
}

static void test_run_share_only_by_its_owner_and_only_from_the_history(void **state)
{
    struct fixture *f = fixture(state);
    struct store_history_query q = {.user_id = f->alice, .limit = 10};
    json_t *run = NULL, *hist = NULL;
    int64_t id = add_run(f->s, f->alice, 0, "python", true, 1);
    int64_t hidden = add_run(f->s, f->alice, 0, "python", false, 1);

    assert_int_equal(store_run_get(f->s, id, f->alice, &run), 0);
    assert_true(json_is_false(json_object_get(run, "shared"))); /* not shared by default */
    json_decref(run);
    assert_int_equal(store_run_set_shared(f->s, id, f->bob, "share-bob"), -ENOENT);
    assert_int_equal(store_run_set_shared(f->s, hidden, f->alice, "share-hidden"), -ENOENT);
    assert_int_equal(store_run_set_shared(f->s, id + 1000, 0, "share-none"), -ENOENT);
    assert_int_equal(store_run_set_shared(f->s, id, f->alice, "share-1"), 0);
    assert_int_equal(store_run_get(f->s, id, 0, &run), 0);
    assert_true(json_is_true(json_object_get(run, "shared")));
    assert_string_equal(json_string_value(json_object_get(run, "share_id")), "share-1");
    json_decref(run);
    /* Sharing again keeps the link. */
    assert_int_equal(store_run_set_shared(f->s, id, f->alice, "share-2"), 0);
    assert_int_equal(store_run_get_shared(f->s, "share-1", &run), 0);
    assert_int_equal(json_integer_value(json_object_get(run, "id")), id);
    json_decref(run);
    assert_int_equal(store_run_get_shared(f->s, "share-2", &run), -ENOENT);
    /* Shared or not, the store gives another user's run by id only to an admin (user 0). */
    assert_int_equal(store_run_get(f->s, id, f->bob, &run), -ENOENT);
    assert_int_equal(store_run_history(f->s, &q, &hist), 0);
    assert_true(json_is_true(
            json_object_get(json_array_get(json_object_get(hist, "runs"), 0), "shared")));
    json_decref(hist);
    assert_int_equal(store_run_set_shared(f->s, id, 0, NULL), 0); /* an admin */
    assert_int_equal(store_run_get(f->s, id, f->alice, &run), 0);
    assert_true(json_is_false(json_object_get(run, "shared")));
    assert_true(json_is_null(json_object_get(run, "share_id")));
    json_decref(run);
    /* Unshared, the old link is dead, and sharing again makes a new one. */
    assert_int_equal(store_run_get_shared(f->s, "share-1", &run), -ENOENT);
    assert_int_equal(store_run_set_shared(f->s, id, f->alice, "share-3"), 0);
    assert_int_equal(store_run_get_shared(f->s, "share-1", &run), -ENOENT);
    assert_int_equal(store_run_get_shared(f->s, "share-3", &run), 0);
    json_decref(run);
}

static void test_run_ids_are_never_reused(void **state)
{
    struct fixture *f = fixture(state);
    int64_t a = add_run(f->s, f->alice, 0, "python", true, 1);
    int64_t b;

    assert_int_equal(store_delivery_log(f->s, a, "http://x/", 1, 200, "", 2), 0);
    assert_int_equal(store_run_delete(f->s, a, 0), 0);
    assert_int_equal(count_rows(f, "webhook_deliveries"), 0);
    b = add_run(f->s, f->alice, 0, "python", true, 1);
    assert_true(b > a);
}

/* The ids of the "runs" array of @hist. */
static size_t history_ids(json_t *hist, int64_t *ids, size_t max)
{
    json_t *runs = json_object_get(hist, "runs");
    size_t n = json_array_size(runs);

    assert_true(n <= max);
    for (size_t i = 0; i < n; i++)
        ids[i] = json_integer_value(json_object_get(json_array_get(runs, i), "id"));
    return n;
}

static void test_history_pages_with_before(void **state)
{
    struct fixture *f = fixture(state);
    struct store_history_query q = {.user_id = f->alice, .limit = 3};
    int64_t id[7], got[8];
    json_t *hist = NULL, *next;

    for (size_t i = 0; i < 7; i++)
        id[i] = add_run(f->s, f->alice, 0, "python", true, (int64_t)i);
    (void)add_run(f->s, f->bob, 0, "python", true, 9);

    assert_int_equal(store_run_history(f->s, &q, &hist), 0);
    assert_int_equal(history_ids(hist, got, 8), 3);
    assert_int_equal(got[0], id[6]);
    assert_int_equal(got[2], id[4]);
    next = json_object_get(hist, "next_before");
    assert_int_equal(json_integer_value(next), id[4]);
    q.before = json_integer_value(next);
    json_decref(hist);

    assert_int_equal(store_run_history(f->s, &q, &hist), 0);
    assert_int_equal(history_ids(hist, got, 8), 3);
    assert_int_equal(got[0], id[3]);
    q.before = json_integer_value(json_object_get(hist, "next_before"));
    assert_int_equal(q.before, id[1]);
    json_decref(hist);

    assert_int_equal(store_run_history(f->s, &q, &hist), 0);
    assert_int_equal(history_ids(hist, got, 8), 1);
    assert_int_equal(got[0], id[0]);
    assert_true(json_is_null(json_object_get(hist, "next_before")));
    json_decref(hist);

    /* Exactly a page's worth left: no next page either. */
    q.before = id[3];
    assert_int_equal(store_run_history(f->s, &q, &hist), 0);
    assert_int_equal(history_ids(hist, got, 8), 3);
    assert_true(json_is_null(json_object_get(hist, "next_before")));
    json_decref(hist);

    q.limit = 0;
    assert_int_equal(store_run_history(f->s, &q, &hist), -EINVAL);
    q.limit = 501;
    assert_int_equal(store_run_history(f->s, &q, &hist), -EINVAL);
}

static void test_history_filters(void **state)
{
    struct fixture *f = fixture(state);
    struct store_history_query q = {.user_id = f->alice, .limit = 50};
    int64_t py1 = add_run(f->s, f->alice, 1, "python", true, 1);
    int64_t c1 = add_run(f->s, f->alice, 1, "c", true, 2);
    int64_t py2 = add_run(f->s, f->alice, 2, "python", true, 3);
    int64_t b = add_run(f->s, f->bob, 1, "python", true, 4);
    int64_t got[8];
    json_t *hist = NULL, *r;

    finish_run(f->s, py1, "success", 0, 0.5);
    finish_run(f->s, py2, "runtime_error", 3, 0.5);
    finish_run(f->s, b, "success", 0, 0.5);

    q.language = "python";
    assert_int_equal(store_run_history(f->s, &q, &hist), 0);
    assert_int_equal(history_ids(hist, got, 8), 2);
    assert_int_equal(got[0], py2);
    r = json_array_get(json_object_get(hist, "runs"), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "exit_code")), 3);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "runtime_error");
    assert_string_equal(json_string_value(json_object_get(r, "state")), "done");
    assert_string_equal(json_string_value(json_object_get(r, "code_preview")), "print(1)");
    json_decref(hist);

    q.language = NULL;
    q.project_id = 1;
    assert_int_equal(store_run_history(f->s, &q, &hist), 0);
    assert_int_equal(history_ids(hist, got, 8), 2);
    assert_int_equal(got[0], c1);
    assert_int_equal(got[1], py1);
    r = json_array_get(json_object_get(hist, "runs"), 0);
    assert_true(json_is_null(json_object_get(r, "exit_code")));
    assert_true(json_is_null(json_object_get(r, "status")));
    json_decref(hist);

    q.project_id = 0;
    q.status = "success";
    assert_int_equal(store_run_history(f->s, &q, &hist), 0);
    assert_int_equal(history_ids(hist, got, 8), 1);
    assert_int_equal(got[0], py1);
    json_decref(hist);

    q.user_id = 0; /* an admin sees everyone's */
    assert_int_equal(store_run_history(f->s, &q, &hist), 0);
    assert_int_equal(history_ids(hist, got, 8), 2);
    assert_int_equal(got[0], b);
    json_decref(hist);
}

static void test_history_code_preview_stops_at_a_character_boundary(void **state)
{
    struct fixture *f = fixture(state);
    struct store_history_query q = {.user_id = f->alice, .limit = 1};
    char code[300];
    struct store_run_new rn = {
            .user_id = f->alice, .language = "python", .code = code, .save_history = true};
    json_t *hist = NULL;
    const char *preview;

    /* 199 ASCII bytes, then a 3-byte euro sign that byte 200 would cut. */
    memset(code, 'a', 199);
    (void)snprintf(code + 199, sizeof(code) - 199, "\xe2\x82\xac and more");
    assert_int_equal(store_run_insert(f->s, &rn, NULL), 0);
    assert_int_equal(store_run_history(f->s, &q, &hist), 0);
    preview = json_string_value(
            json_object_get(json_array_get(json_object_get(hist, "runs"), 0), "code_preview"));
    assert_non_null(preview);
    assert_int_equal(strlen(preview), 199);
    json_decref(hist);

    /* 198 ASCII bytes and the euro sign fit in 201 bytes: still cut before it. */
    memset(code, 'b', 198);
    (void)snprintf(code + 198, sizeof(code) - 198, "\xe2\x82\xac");
    assert_int_equal(store_run_insert(f->s, &rn, NULL), 0);
    assert_int_equal(store_run_history(f->s, &q, &hist), 0);
    preview = json_string_value(
            json_object_get(json_array_get(json_object_get(hist, "runs"), 0), "code_preview"));
    assert_int_equal(strlen(preview), 198);
    json_decref(hist);

    /* 197 and the euro sign end exactly at 200 bytes. */
    memset(code, 'c', 197);
    (void)snprintf(code + 197, sizeof(code) - 197, "\xe2\x82\xac tail");
    assert_int_equal(store_run_insert(f->s, &rn, NULL), 0);
    assert_int_equal(store_run_history(f->s, &q, &hist), 0);
    preview = json_string_value(
            json_object_get(json_array_get(json_object_get(hist, "runs"), 0), "code_preview"));
    assert_int_equal(strlen(preview), 200);
    json_decref(hist);
}

static void test_runs_recover_marks_in_flight_runs(void **state)
{
    struct fixture *f = fixture(state);
    int64_t queued = add_run(f->s, f->alice, 0, "python", true, 1);
    int64_t running = add_run(f->s, f->alice, 0, "python", true, 2);
    int64_t done = add_run(f->s, f->bob, 0, "python", true, 3);
    json_t *run = NULL, *res;
    int n = -1;

    assert_int_equal(store_run_set_running(f->s, running, 10), 0);
    finish_run(f->s, done, "success", 0, 0.1);
    assert_int_equal(store_runs_recover(f->s, 5000, &n), 0);
    assert_int_equal(n, 2);

    assert_int_equal(store_run_get(f->s, running, 0, &run), 0);
    assert_string_equal(json_string_value(json_object_get(run, "state")), "done");
    assert_string_equal(json_string_value(json_object_get(run, "status")), "internal_error");
    assert_int_equal(json_integer_value(json_object_get(run, "finished_at")), 5000);
    res = json_object_get(run, "result");
    assert_string_equal(json_string_value(json_object_get(res, "status")), "internal_error");
    assert_string_equal(json_string_value(json_object_get(res, "message")), "server restarted");
    assert_string_equal(json_string_value(json_object_get(res, "error")), "server restarted");
    assert_string_equal(json_string_value(json_object_get(res, "output")), "");
    assert_true(json_is_null(json_object_get(res, "exit_code")));
    json_decref(run);

    assert_int_equal(store_run_get(f->s, queued, 0, &run), 0);
    assert_string_equal(json_string_value(json_object_get(run, "status")), "internal_error");
    json_decref(run);
    assert_int_equal(store_run_get(f->s, done, 0, &run), 0);
    assert_string_equal(json_string_value(json_object_get(run, "status")), "success");
    json_decref(run);

    assert_int_equal(store_runs_recover(f->s, 6000, &n), 0);
    assert_int_equal(n, 0);
}

static void test_runs_prune_deletes_only_old_finished_runs(void **state)
{
    struct fixture *f = fixture(state);
    int64_t old_done = add_run(f->s, f->alice, 0, "python", true, 100);
    int64_t old_queued = add_run(f->s, f->alice, 0, "python", true, 100);
    int64_t new_done = add_run(f->s, f->alice, 0, "python", true, 300);
    json_t *run = NULL;
    int n = -1;

    finish_run(f->s, old_done, "success", 0, 0.1);
    finish_run(f->s, new_done, "success", 0, 0.1);
    assert_int_equal(store_runs_prune(f->s, 200, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_run_get(f->s, old_done, 0, &run), -ENOENT);
    assert_int_equal(store_run_get(f->s, old_queued, 0, &run), 0);
    json_decref(run);
    assert_int_equal(store_run_get(f->s, new_done, 0, &run), 0);
    json_decref(run);
    assert_int_equal(store_runs_prune(f->s, 200, &n), 0);
    assert_int_equal(n, 0);
}

/* The group of @stats for @language and @status, or NULL. */
static json_t *stats_group(json_t *stats, const char *language, const char *status)
{
    json_t *langs = json_object_get(stats, "languages");

    for (size_t i = 0; i < json_array_size(langs); i++) {
        json_t *g = json_array_get(langs, i);

        if (strcmp(json_string_value(json_object_get(g, "language")), language) == 0 &&
            strcmp(json_string_value(json_object_get(g, "status")), status) == 0)
            return g;
    }
    return NULL;
}

static void test_stats_group_finished_runs_by_language_and_status(void **state)
{
    struct fixture *f = fixture(state);
    json_t *stats = NULL, *g;

    finish_run(f->s, add_run(f->s, f->alice, 0, "python", true, 1), "success", 0, 1.0);
    finish_run(f->s, add_run(f->s, f->alice, 0, "python", false, 1), "success", 0, 2.0);
    finish_run(f->s, add_run(f->s, f->alice, 0, "python", true, 1), "timeout", 0, 5.0);
    finish_run(f->s, add_run(f->s, f->alice, 0, "c", true, 1), "success", 0, 0.5);
    finish_run(f->s, add_run(f->s, f->bob, 0, "c", true, 1), "success", 0, 1.5);
    (void)add_run(f->s, f->alice, 0, "c", true, 1); /* unfinished: not counted */

    assert_int_equal(store_stats(f->s, f->alice, &stats), 0);
    assert_int_equal(json_integer_value(json_object_get(stats, "total")), 4);
    assert_int_equal(json_array_size(json_object_get(stats, "languages")), 3);
    g = stats_group(stats, "python", "success");
    assert_non_null(g);
    assert_int_equal(json_integer_value(json_object_get(g, "count")), 2);
    assert_true(json_real_value(json_object_get(g, "avg_execution_time")) == 1.5);
    g = stats_group(stats, "c", "success");
    assert_int_equal(json_integer_value(json_object_get(g, "count")), 1);
    json_decref(stats);

    assert_int_equal(store_stats(f->s, 0, &stats), 0);
    assert_int_equal(json_integer_value(json_object_get(stats, "total")), 5);
    g = stats_group(stats, "c", "success");
    assert_int_equal(json_integer_value(json_object_get(g, "count")), 2);
    assert_true(json_real_value(json_object_get(g, "avg_execution_time")) == 1.0);
    json_decref(stats);
}

static void test_deliveries_are_listed_oldest_first(void **state)
{
    struct fixture *f = fixture(state);
    int64_t id = add_run(f->s, f->alice, 0, "python", true, 1);
    json_t *list = NULL, *d;

    assert_int_equal(store_delivery_log(f->s, id, "http://h/", 1, 0, "connect refused", 10), 0);
    assert_int_equal(store_delivery_log(f->s, id, "http://h/", 2, 200, "", 20), 0);
    assert_int_equal(store_delivery_log(f->s, 9999, "http://h/", 1, 0, "", 20), -ENOENT);
    assert_int_equal(store_delivery_list(f->s, id, &list), 0);
    assert_int_equal(json_array_size(list), 2);
    d = json_array_get(list, 0);
    assert_int_equal(json_integer_value(json_object_get(d, "attempt")), 1);
    assert_int_equal(json_integer_value(json_object_get(d, "http_status")), 0);
    assert_string_equal(json_string_value(json_object_get(d, "error")), "connect refused");
    assert_string_equal(json_string_value(json_object_get(d, "url")), "http://h/");
    assert_int_equal(json_integer_value(json_object_get(d, "at")), 10);
    d = json_array_get(list, 1);
    assert_int_equal(json_integer_value(json_object_get(d, "http_status")), 200);
    assert_string_equal(json_string_value(json_object_get(d, "error")), "");
    json_decref(list);
    assert_int_equal(store_delivery_list(f->s, 9999, &list), 0);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
}

#define THREADS         4
#define RUNS_PER_THREAD 200

struct worker {
    struct store *s;
    int64_t user_id;
    int failures;
};

static void *insert_runs(void *arg)
{
    struct worker *w = arg;
    struct store_run_new rn = {.user_id = w->user_id, .language = "python", .save_history = true};

    for (int i = 0; i < RUNS_PER_THREAD; i++) {
        int64_t id = 0;
        json_t *res = json_pack("{si}", "exit_code", i);

        if (store_run_insert(w->s, &rn, &id) < 0 || store_run_set_running(w->s, id, 1) < 0 ||
            store_run_finish(w->s, id, "success", res, 0.01, 2) < 0)
            w->failures++;
        json_decref(res);
    }
    return NULL;
}

static void test_concurrent_inserts_lose_no_rows(void **state)
{
    struct fixture *f = fixture(state);
    struct worker w[THREADS];
    pthread_t t[THREADS];
    json_t *stats = NULL;

    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.s = f->s, .user_id = i % 2 ? f->alice : f->bob};
        assert_int_equal(pthread_create(&t[i], NULL, insert_runs, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    assert_int_equal(count_rows(f, "runs"), THREADS * RUNS_PER_THREAD);
    assert_int_equal(store_stats(f->s, 0, &stats), 0);
    assert_int_equal(json_integer_value(json_object_get(stats, "total")),
                     THREADS * RUNS_PER_THREAD);
    json_decref(stats);
}

static void test_run_finish_survives_kill_9(void **state)
{
    struct fixture *f = fixture(state);
    int64_t id = add_run(f->s, f->alice, 0, "python", true, 1);
    char err[256] = "";
    json_t *run = NULL;
    int status;
    pid_t pid;

    f->s = store_free(f->s);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct store *s = NULL;
        json_t *res = json_pack("{si}", "exit_code", 0);

        if (open_store(f, &s, err, sizeof(err)) < 0 ||
            store_run_finish(s, id, "success", res, 0.5, 7) < 0)
            _exit(1);
        (void)raise(SIGKILL);
        _exit(2);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_int_equal(open_store(f, &f->s, err, sizeof(err)), 0);
    assert_int_equal(store_run_get(f->s, id, f->alice, &run), 0);
    assert_string_equal(json_string_value(json_object_get(run, "status")), "success");
    json_decref(run);
}

static void test_run_state_names(void **state)
{
    (void)state;
    assert_string_equal(store_run_state_to_string(STORE_RUN_QUEUED), "queued");
    assert_string_equal(store_run_state_to_string(STORE_RUN_RUNNING), "running");
    assert_string_equal(store_run_state_to_string(STORE_RUN_DONE), "done");
}

static void *read_error_length(void *arg)
{
    *(size_t *)arg = strlen(store_error());
    return NULL;
}

static void test_store_error_is_per_thread(void **state)
{
    struct fixture *f = fixture(state);
    size_t other = 1;
    pthread_t t;

    assert_int_equal(store_user_add(f->s, "alice", "h", false, NULL), -EEXIST);
    assert_true(strlen(store_error()) > 0);
    assert_int_equal(pthread_create(&t, NULL, read_error_length, &other), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(other, 0);
}

static void test_store_says_which_backend_it_is(void **state)
{
    struct fixture *f = fixture(state);

    assert_int_equal(store_is_postgres(f->s), f->backend == POSTGRES);
    assert_true(store_schema_version(f->s) >= 3);
}

static void test_text_that_is_not_utf8_reads_back_the_same(void **state)
{
    struct fixture *f = fixture(state);
    /* A lone 0xff, and a euro sign cut after two of its three bytes. */
    const char *code = "print('\xff')  # \xe2\x82 cut";
    const char *lossy = "print('\xef\xbf\xbd')  # \xef\xbf\xbd\xef\xbf\xbd cut";
    struct store_history_query q = {.user_id = f->alice, .limit = 1};
    struct store_run_new rn = {.user_id = f->alice,
                               .language = "python",
                               .code = code,
                               .save_history = true,
                               .callback_url = "http://h/\xff"};
    json_t *run = NULL, *list = NULL;
    int64_t id = 0;

    /* SQLite keeps the bytes and PostgreSQL the replaced text; both read back the same. */
    assert_int_equal(store_run_insert(f->s, &rn, &id), 0);
    assert_int_equal(store_run_get(f->s, id, f->alice, &run), 0);
    assert_string_equal(json_string_value(json_object_get(run, "code")), lossy);
    assert_string_equal(json_string_value(json_object_get(run, "callback_url")),
                        "http://h/\xef\xbf\xbd");
    json_decref(run);
    assert_int_equal(store_run_history(f->s, &q, &run), 0);
    assert_string_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(run, "runs"), 0), "code_preview")),
                        lossy);
    json_decref(run);

    assert_int_equal(store_delivery_log(f->s, id, "http://h/", 1, 0, "bad \xc3(", 1), 0);
    assert_int_equal(store_delivery_list(f->s, id, &list), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "error")),
                        "bad \xef\xbf\xbd(");
    json_decref(list);
    assert_int_equal(store_key_add(f->s, f->alice, "k\xfe", "khash", NULL), 0);
    assert_int_equal(store_key_list(f->s, f->alice, &list), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")),
                        "k\xef\xbf\xbd");
    json_decref(list);
}

static void test_result_output_with_nul_bytes_reads_back_whole(void **state)
{
    struct fixture *f = fixture(state);
    int64_t id = add_run(f->s, f->alice, 0, "c", true, 1);
    json_t *res = json_pack("{s:s#,s:i}", "output", "a\0b\n", (int)4, "exit_code", 0);
    json_t *run = NULL, *out;

    assert_non_null(res);
    assert_int_equal(store_run_finish(f->s, id, "success", res, 0.1, 2), 0);
    json_decref(res);
    assert_int_equal(store_run_get(f->s, id, 0, &run), 0);
    out = json_object_get(json_object_get(run, "result"), "output");
    assert_int_equal(json_string_length(out), 4);
    assert_memory_equal(json_string_value(out), "a\0b\n", 4);
    json_decref(run);
}

static void test_payload_is_kept_until_the_run_ends(void **state)
{
    struct fixture *f = fixture(state);
    json_t *job = json_pack("{ss}", "hidden", "tests");
    struct store_run_new rn = {
            .user_id = f->alice, .language = "python", .created_at = 1, .payload = job};
    int64_t a = 0, b = 0;
    int n = -1;

    assert_int_equal(store_run_insert(f->s, &rn, &a), 0);
    assert_int_equal(store_run_insert(f->s, &rn, &b), 0);
    json_decref(job);
    assert_int_equal(count_rows(f, "runs WHERE payload = '{\"hidden\":\"tests\"}'"), 2);
    finish_run(f->s, a, "success", 0, 0.1);
    assert_int_equal(count_rows(f, "runs WHERE payload IS NOT NULL"), 1);
    assert_int_equal(store_runs_recover(f->s, 10, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(count_rows(f, "runs WHERE payload IS NOT NULL"), 0);
}

/*** Opening, whatever the backend ***/

static void test_open_url_picks_the_backend(void **state)
{
    struct fixture *f = fixture(state);
    struct store *s = NULL;
    struct store_user u;
    char err[256] = "";

    assert_int_equal(store_open_url(NULL, NULL, &s, err, sizeof(err)), -EINVAL);
    assert_true(strlen(err) > 0);
    assert_int_equal(store_open_url("mysql://u:pw@h/db", f->dir, &s, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "postgres"));
    assert_int_equal(store_open_url("POSTGRES://h/db", f->dir, &s, err, sizeof(err)), -EINVAL);
    assert_null(s);
    /* "" is SQLite under the dir: the fixture's database. */
    assert_int_equal(store_open_url("", f->dir, &s, err, sizeof(err)), 0);
    assert_false(store_is_postgres(s));
    assert_int_equal(store_user_by_name(s, "alice", &u), 0);
    s = store_free(s);
}

static void test_mask_url_hides_every_password(void **state)
{
    static const struct {
        const char *url;
        const char *masked;
    } cases[] = {
            {"postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"},
            {"postgres://u:s%40cret@h/db?sslmode=require", "postgres://u:***@h/db?sslmode=require"},
            {"postgresql://u:a@b@h/db", "postgresql://u:***@h/db"},
            {"postgresql://u:@h/db", "postgresql://u:***@h/db"},
            {"postgresql://u@h/db?password=secret&sslmode=require",
             "postgresql://u@h/db?password=***&sslmode=require"},
            {"postgresql://h/db?sslmode=require&password=secret",
             "postgresql://h/db?sslmode=require&password=***"},
            {"postgresql://u:one@h/db?password=two&password=three",
             "postgresql://u:***@h/db?password=***&password=***"},
            {"postgresql://h/db?xpassword=kept", "postgresql://h/db?xpassword=kept"},
            {"postgresql://u@h/db", "postgresql://u@h/db"},
            {"postgresql:///db", "postgresql:///db"},
    };
    char buf[128];

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        store__mask_url(cases[i].url, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].masked);
    }
    /* A buffer too small cuts the text, and never lets the password through. */
    store__mask_url("postgresql://u:secret@h/db", buf, 20);
    assert_string_equal(buf, "postgresql://u:***@");
    store__mask_url("postgresql://u:secret@h/db", buf, 17);
    assert_string_equal(buf, "postgresql://u:*");
    store__mask_url("postgresql://h/db?password=secret", buf, 30);
    assert_string_equal(buf, "postgresql://h/db?password=**");
}

static void test_unreachable_server_is_enotconn_without_the_password(void **state)
{
    static const char *const schemes[] = {"postgresql", "postgres"};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct store *s = NULL;
    char url[256], err[512];

    (void)state;
    /* A port bound but not listening: connecting is refused, and nothing else can take it. */
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    for (size_t i = 0; i < ARRAY_SIZE(schemes); i++) {
        (void)snprintf(url, sizeof(url),
                       "%s://runbox:s3cret-pw@127.0.0.1:%d/runbox?password=other-pw", schemes[i],
                       ntohs(a.sin_port));
        err[0] = '\0';
        assert_int_equal(store_open_url(url, NULL, &s, err, sizeof(err)), -ENOTCONN);
        assert_null(s);
        assert_non_null(strstr(err, "127.0.0.1"));
        assert_non_null(strstr(err, "runbox:***@"));
        assert_null(strstr(err, "s3cret-pw"));
        assert_null(strstr(err, "other-pw"));
        assert_null(strstr(store_error(), "s3cret-pw"));
        assert_null(strstr(store_error(), "other-pw"));
    }
}

/*** PostgreSQL only ***/

#define OPENERS 4

struct opener {
    const char *url;
    pthread_barrier_t *start;
    struct store *s;
    int r;
    char err[512];
};

static void *open_together(void *arg)
{
    struct opener *o = arg;

    (void)pthread_barrier_wait(o->start);
    o->r = store_open_url(o->url, NULL, &o->s, o->err, sizeof(o->err));
    return NULL;
}

static void test_pg_first_opens_at_once_migrate_once(void **state)
{
    struct fixture *f = fixture(state);
    struct opener o[OPENERS];
    pthread_t t[OPENERS];
    pthread_barrier_t start;
    char name[16];

    /* Nodes of a cluster starting together on a new database: the advisory lock lets one
     * migrate while the others wait, then find the schema there. */
    assert_int_equal(pthread_barrier_init(&start, NULL, OPENERS), 0);
    for (int i = 0; i < OPENERS; i++) {
        o[i] = (struct opener){.url = f->url, .start = &start};
        assert_int_equal(pthread_create(&t[i], NULL, open_together, &o[i]), 0);
    }
    for (int i = 0; i < OPENERS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    (void)pthread_barrier_destroy(&start);
    for (int i = 0; i < OPENERS; i++) {
        if (o[i].r < 0)
            fail_msg("opener %d: %s (%s)", i, o[i].err, strerror(-o[i].r));
        assert_int_equal(store_schema_version(o[i].s), store_schema_version(o[0].s));
        (void)snprintf(name, sizeof(name), "user%d", i);
        assert_int_equal(store_user_add(o[i].s, name, "h", false, NULL), 0);
    }
    assert_int_equal(count_rows(f, "schema_version"), 1);
    assert_int_equal(count_rows(f, "users"), OPENERS);
    for (int i = 0; i < OPENERS; i++)
        o[i].s = store_free(o[i].s);
}

/* Let connections to @f's database in, or keep them out. */
static void allow_connections(struct fixture *f, bool allow)
{
    char sql[128];

    (void)snprintf(sql, sizeof(sql), "ALTER DATABASE \"%s\" ALLOW_CONNECTIONS %s", f->db_name,
                   allow ? "true" : "false");
    (void)pg_run(pg_server(), sql);
}

static void test_pg_is_enotconn_while_the_database_is_away_then_recovers(void **state)
{
    struct fixture *f = fixture(state);
    struct store *s = NULL;
    struct store_user u;
    char err[512] = "";

    /* The server drops the store's connections and refuses new ones (it is restarting). */
    allow_connections(f, false);
    kill_connections(f);
    assert_int_equal(store_user_by_name(f->s, "alice", &u), -ENOTCONN);
    assert_non_null(strstr(store_error(), "unavailable"));
    assert_int_equal(store_user_add(f->s, "carol", "h", false, NULL), -ENOTCONN);
    assert_int_equal(store_open_url(f->url, NULL, &s, err, sizeof(err)), -ENOTCONN);
    assert_null(s);

    /* Back: the same store works again, without being reopened. */
    allow_connections(f, true);
    assert_int_equal(store_user_by_name(f->s, "alice", &u), 0);
    assert_int_equal(u.id, f->alice);
    assert_int_equal(store_user_add(f->s, "carol", "h", false, NULL), 0);

    /* Connections ended while the server stays up (a restart that is over): the next call
     * reconnects and succeeds. */
    kill_connections(f);
    assert_int_equal(store_user_by_name(f->s, "alice", &u), 0);
    assert_int_equal(store_user_add(f->s, "dave", "h", false, NULL), 0);
}

/* The next notification on @pg, waiting up to 10 s; free it with PQfreemem(). */
static PGnotify *next_notification(PGconn *pg)
{
    for (int i = 0; i < 100; i++) {
        struct pollfd p = {.fd = PQsocket(pg), .events = POLLIN};
        PGnotify *n;

        assert_int_equal(PQconsumeInput(pg), 1);
        n = PQnotifies(pg);
        if (n)
            return n;
        (void)poll(&p, 1, 100);
    }
    fail_msg("no notification within 10 s");
    return NULL;
}

static void test_pg_insert_with_a_payload_notifies_the_queue(void **state)
{
    struct fixture *f = fixture(state);
    PGconn *listener = pg_connect(f->url);
    json_t *job = json_pack("{si}", "job", 1);
    struct store_run_new rn = {.user_id = f->alice, .language = "python", .created_at = 1};
    int64_t plain = 0, queued = 0;
    char id[32];
    PGnotify *n;

    PQclear(PQexec(listener, "LISTEN runbox_queue"));
    /* Without a payload the run is not the cluster's: no notification. */
    assert_int_equal(store_run_insert(f->s, &rn, &plain), 0);
    rn.payload = job;
    assert_int_equal(store_run_insert(f->s, &rn, &queued), 0);
    json_decref(job);
    /* Notifications come in commit order, so the first is the second insert's. */
    n = next_notification(listener);
    (void)snprintf(id, sizeof(id), "%lld", (long long)queued);
    assert_string_equal(n->relname, "runbox_queue");
    assert_string_equal(n->extra, id);
    PQfreemem(n);
    PQfinish(listener);
}

static void test_pg_open_error_never_shows_the_password(void **state)
{
    struct store *s = NULL;
    char base[512], url[600], err[512] = "";

    (void)fixture(state);
    /* The server answers, and refuses: the database is not there. */
    url_with_db(pg_server(), "runbox_no_such_db", base, sizeof(base));
    (void)snprintf(url, sizeof(url), "%s%spassword=hunter2-secret", base,
                   strchr(base, '?') ? "&" : "?");
    assert_int_equal(store_open_url(url, NULL, &s, err, sizeof(err)), -ENOTCONN);
    assert_null(s);
    assert_non_null(strstr(err, "does not exist"));
    assert_non_null(strstr(err, "password=***"));
    assert_null(strstr(err, "hunter2"));
    assert_null(strstr(store_error(), "hunter2"));
}

/*** Compatibility APIs: runs named by a token ***/

/* Insert a run of @user_id named @token, with @compat attributes. */
static int64_t add_token_run(struct store *s, int64_t user_id, const char *token, json_t *compat)
{
    struct store_run_new rn = {
            .user_id = user_id,
            .language = "python",
            .code = "print(1)",
            .save_history = true,
            .created_at = 1,
            .token = token,
            .compat = compat,
    };
    int64_t id = 0;

    assert_int_equal(store_run_insert(s, &rn, &id), 0);
    return id;
}

static void test_run_token_finds_the_run_for_its_owner(void **state)
{
    struct fixture *f = fixture(state);
    json_t *compat = json_pack("{s:i}", "language_id", 71), *got = NULL;
    int64_t id = add_token_run(f->s, f->alice, "tok-1", compat), found = 0;

    assert_int_equal(store_run_by_token(f->s, "tok-1", f->alice, &found), 0);
    assert_int_equal(found, id);
    assert_int_equal(store_run_by_token(f->s, "tok-1", 0, &found), 0);
    assert_int_equal(store_run_by_token(f->s, "tok-1", f->bob, &found), -ENOENT);
    assert_int_equal(store_run_by_token(f->s, "tok-2", 0, &found), -ENOENT);
    assert_int_equal(store_run_compat(f->s, id, &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "token")), "tok-1");
    assert_true(json_equal(json_object_get(got, "compat"), compat));
    json_decref(got);
    json_decref(compat);
}

static void test_run_token_is_unique_and_optional(void **state)
{
    struct fixture *f = fixture(state);
    json_t *got = NULL;
    struct store_run_new rn = {.user_id = f->bob, .language = "c", .token = "dup", .created_at = 1};
    int64_t plain = add_run(f->s, f->alice, 0, "python", true, 1), id = 0;

    add_token_run(f->s, f->alice, "dup", NULL);
    assert_true(store_run_insert(f->s, &rn, &id) < 0);
    assert_int_equal(store_run_compat(f->s, plain, &got), -ENOENT);
    assert_null(got);
}

static void test_run_token_list_pages_newest_first(void **state)
{
    struct fixture *f = fixture(state);
    json_t *list = NULL;
    int64_t total = 0, ids[5];
    char tok[16];

    for (int i = 0; i < 5; i++) {
        (void)snprintf(tok, sizeof(tok), "t%d", i);
        ids[i] = add_token_run(f->s, i < 4 ? f->alice : f->bob, tok, NULL);
    }
    (void)add_run(f->s, f->alice, 0, "python", true, 1); /* no token: not listed */
    assert_int_equal(store_run_token_list(f->s, 0, 1, 2, &list, &total), 0);
    assert_int_equal(total, 5);
    assert_int_equal(json_array_size(list), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")), ids[3]);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "token")), "t2");
    json_decref(list);
    assert_int_equal(store_run_token_list(f->s, f->bob, 0, 10, &list, &total), 0);
    assert_int_equal(total, 1);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
}

static void test_deleting_a_token_run_frees_its_token(void **state)
{
    struct fixture *f = fixture(state);
    int64_t id = add_token_run(f->s, f->alice, "gone", NULL), found = 0;

    assert_int_equal(store_run_delete(f->s, id, 0), 0);
    assert_int_equal(store_run_by_token(f->s, "gone", 0, &found), -ENOENT);
}

/*** Accounts: token generations, sessions, revocation ***/

static void test_password_change_revokes_every_token_of_the_user(void **state)
{
    struct fixture *f = fixture(state);
    struct store_user u;
    int64_t uid = 0;

    assert_int_equal(store_user_by_id(f->s, f->alice, &u), 0);
    assert_int_equal(u.token_gen, 0);
    assert_int_equal(store_token_add(f->s, f->alice, u.token_gen, "a1", INT32_MAX), 0);
    assert_int_equal(store_token_add(f->s, f->alice, u.token_gen, "a2", INT32_MAX), 0);
    assert_int_equal(store_token_add(f->s, f->bob, 0, "b1", INT32_MAX), 0);
    assert_int_equal(store_token_lookup(f->s, "a1", 10, &uid, NULL), 0);

    assert_int_equal(store_user_set_password(f->s, f->alice, "new-hash"), 0);
    assert_int_equal(store_token_lookup(f->s, "a1", 10, &uid, NULL), -ENOENT);
    assert_int_equal(store_token_lookup(f->s, "a2", 10, &uid, NULL), -ENOENT);
    assert_int_equal(store_token_lookup(f->s, "b1", 10, &uid, NULL), 0);
    assert_int_equal(uid, f->bob);
    /* A login that read the user before the change cannot mint a token of the old password. */
    assert_int_equal(store_token_add(f->s, f->alice, u.token_gen, "late", INT32_MAX), -ENOENT);
    assert_int_equal(store_user_by_id(f->s, f->alice, &u), 0);
    assert_int_equal(u.token_gen, 1);
    assert_int_equal(store_token_add(f->s, f->alice, u.token_gen, "a3", INT32_MAX), 0);
    assert_int_equal(store_token_lookup(f->s, "a3", 10, &uid, NULL), 0);
    /* The revoked rows are gone, not only invalid. */
    assert_int_equal(count_rows(f, "tokens"), 2);
}

static void test_token_list_shows_live_sessions_without_secrets(void **state)
{
    struct fixture *f = fixture(state);
    json_t *list = NULL, *t;
    int64_t uid = 0, tid = 0, now = (int64_t)time(NULL);

    assert_int_equal(store_token_add(f->s, f->alice, 0, "old", now - 5), 0); /* expired */
    assert_int_equal(store_token_add(f->s, f->alice, 0, "t1", now + 100), 0);
    assert_int_equal(store_token_add(f->s, f->alice, 0, "t2", now + 200), 0);
    assert_int_equal(store_token_add(f->s, f->bob, 0, "tb", now + 100), 0);
    assert_int_equal(store_token_lookup(f->s, "t1", now, &uid, &tid), 0);
    assert_true(tid > 0);

    assert_int_equal(store_token_list(f->s, f->alice, now, &list), 0);
    assert_int_equal(json_array_size(list), 2);
    t = json_array_get(list, 0); /* newest first */
    assert_int_equal(json_integer_value(json_object_get(t, "expires_at")), now + 200);
    assert_true(json_is_null(json_object_get(t, "last_used_at")));
    assert_true(json_integer_value(json_object_get(t, "created_at")) >= now - 1);
    t = json_array_get(list, 1);
    assert_int_equal(json_integer_value(json_object_get(t, "id")), tid);
    assert_int_equal(json_integer_value(json_object_get(t, "last_used_at")), now);
    assert_null(json_object_get(t, "token_hash"));
    json_decref(list);
}

static void test_token_revoke_by_id_only_of_its_owner(void **state)
{
    struct fixture *f = fixture(state);
    int64_t uid = 0, tid = 0, bob_tid = 0;
    int n = -1;

    assert_int_equal(store_token_add(f->s, f->alice, 0, "t1", INT32_MAX), 0);
    assert_int_equal(store_token_add(f->s, f->alice, 0, "t2", INT32_MAX), 0);
    assert_int_equal(store_token_add(f->s, f->bob, 0, "tb", INT32_MAX), 0);
    assert_int_equal(store_token_lookup(f->s, "t1", 1, &uid, &tid), 0);
    assert_int_equal(store_token_lookup(f->s, "tb", 1, &uid, &bob_tid), 0);

    assert_int_equal(store_token_revoke(f->s, tid, f->bob), -ENOENT);
    assert_int_equal(store_token_lookup(f->s, "t1", 1, &uid, NULL), 0);
    assert_int_equal(store_token_revoke(f->s, tid, f->alice), 0);
    assert_int_equal(store_token_lookup(f->s, "t1", 1, &uid, NULL), -ENOENT);
    assert_int_equal(store_token_revoke(f->s, tid, f->alice), -ENOENT);
    assert_int_equal(store_token_lookup(f->s, "t2", 1, &uid, NULL), 0);

    assert_int_equal(store_token_revoke_all(f->s, f->alice, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_token_lookup(f->s, "t2", 1, &uid, NULL), -ENOENT);
    assert_int_equal(store_token_lookup(f->s, "tb", 1, &uid, NULL), 0);
    assert_int_equal(store_token_revoke(f->s, bob_tid, 0), 0); /* 0: anyone's */
}

static void test_key_revoke_of_its_owner_and_all_of_a_user(void **state)
{
    struct fixture *f = fixture(state);
    int64_t k1 = 0, k2 = 0, uid = 0, kid = 0;
    int n = -1;

    assert_int_equal(store_key_add(f->s, f->alice, "a", "ka1", &k1), 0);
    assert_int_equal(store_key_add(f->s, f->alice, "b", "ka2", &k2), 0);
    assert_int_equal(store_key_add(f->s, f->bob, "c", "kb", NULL), 0);
    assert_int_equal(store_key_revoke_of(f->s, k1, f->bob), -ENOENT);
    assert_int_equal(store_key_lookup(f->s, "ka1", &uid, &kid), 0);
    assert_int_equal(store_key_revoke_of(f->s, k1, f->alice), 0);
    assert_int_equal(store_key_lookup(f->s, "ka1", &uid, &kid), -ENOENT);

    assert_int_equal(store_key_revoke_all(f->s, f->alice, &n), 0);
    assert_int_equal(n, 1); /* k1 was revoked already */
    assert_int_equal(store_key_lookup(f->s, "ka2", &uid, &kid), -ENOENT);
    assert_int_equal(store_key_lookup(f->s, "kb", &uid, &kid), 0);
    /* A password change leaves the keys alone: they are credentials of their own. */
    assert_int_equal(store_user_set_password(f->s, f->bob, "h2"), 0);
    assert_int_equal(store_key_lookup(f->s, "kb", &uid, &kid), 0);
}

/* The tests that run on each backend, each on a fresh database. */
/*** Storage quotas ***/

/* Finish run @id with @out_bytes of output; returns the run's stored bytes from its owner's
 * usage before and after. */
static void finish_big(struct store *s, int64_t id, size_t out_bytes)
{
    char *out = malloc(out_bytes + 1);
    json_t *res;

    assert_non_null(out);
    memset(out, 'x', out_bytes);
    out[out_bytes] = '\0';
    res = json_pack("{sssiss}", "status", "success", "exit_code", 0, "output", out);
    assert_int_equal(store_run_finish(s, id, "success", res, 0.1, 1000), 0);
    json_decref(res);
    free(out);
}

static int64_t usage_bytes(struct store *s, int64_t user_id)
{
    struct store_usage u;

    assert_int_equal(store_user_usage(s, user_id, &u), 0);
    return u.bytes;
}

static bool run_exists(struct store *s, int64_t id)
{
    json_t *run = NULL;
    int r = store_run_get(s, id, 0, &run);

    json_decref(run);
    assert_true(r == 0 || r == -ENOENT);
    return r == 0;
}

static void test_run_stored_bytes_count_code_request_and_result(void **state)
{
    struct fixture *f = fixture(state);
    json_t *res = json_pack("{sssiss}", "status", "success", "exit_code", 0, "output", "hello\n");
    _cleanup_free_ char *text = json_dumps(res, JSON_COMPACT);
    int64_t id, hidden;
    struct store_usage u;
    json_t *list = NULL;

    assert_int_equal(store_user_usage(f->s, f->alice, &u), 0);
    assert_int_equal(u.runs, 0);
    assert_int_equal(u.bytes, 0);
    assert_int_equal(u.quota_mb, -1);
    id = add_run(f->s, f->alice, 0, "python", true, 1);
    /* The code and the request as stored: "print(1)" and {"language": "python"}. */
    assert_int_equal(usage_bytes(f->s, f->alice),
                     strlen("print(1)") + strlen("{\"language\":\"python\"}"));
    assert_int_equal(store_run_finish(f->s, id, "success", res, 0.1, 1000), 0);
    assert_int_equal(usage_bytes(f->s, f->alice),
                     strlen("print(1)") + strlen("{\"language\":\"python\"}") + strlen(text));
    /* A run outside the history keeps only its result. */
    hidden = add_run(f->s, f->alice, 0, "python", false, 2);
    assert_int_equal(store_run_finish(f->s, hidden, "success", res, 0.1, 1000), 0);
    assert_int_equal(store_user_usage(f->s, f->alice, &u), 0);
    assert_int_equal(u.runs, 2);
    assert_int_equal(u.bytes,
                     strlen("print(1)") + strlen("{\"language\":\"python\"}") + 2 * strlen(text));
    assert_int_equal(usage_bytes(f->s, f->bob), 0);

    assert_int_equal(store_user_list(f->s, &list), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "runs")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "stored_bytes")),
                     u.bytes);
    assert_true(json_is_null(json_object_get(json_array_get(list, 0), "quota_mb")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1), "runs")), 0);
    json_decref(list);
    json_decref(res);
    assert_int_equal(store_user_usage(f->s, f->alice + 1000, &u), -ENOENT);
}

static void test_user_quota_is_own_or_default(void **state)
{
    struct fixture *f = fixture(state);
    struct store_usage u;
    json_t *list = NULL;

    assert_int_equal(store_user_set_quota(f->s, f->alice, 50), 0);
    assert_int_equal(store_user_usage(f->s, f->alice, &u), 0);
    assert_int_equal(u.quota_mb, 50);
    assert_int_equal(store_user_list(f->s, &list), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "quota_mb")), 50);
    json_decref(list);
    assert_int_equal(store_user_set_quota(f->s, f->alice, 0), 0);
    assert_int_equal(store_user_usage(f->s, f->alice, &u), 0);
    assert_int_equal(u.quota_mb, 0);
    assert_int_equal(store_user_set_quota(f->s, f->alice, -1), 0);
    assert_int_equal(store_user_usage(f->s, f->alice, &u), 0);
    assert_int_equal(u.quota_mb, -1);
    assert_int_equal(store_user_set_quota(f->s, f->alice, -2), -EINVAL);
    assert_int_equal(store_user_set_quota(f->s, f->alice + 1000, 5), -ENOENT);
}

static void test_user_evict_takes_the_oldest_never_in_flight_and_shared_last(void **state)
{
    struct fixture *f = fixture(state);
    int64_t shared = add_run(f->s, f->alice, 0, "python", true, 1);
    int64_t old = add_run(f->s, f->alice, 0, "python", true, 2);
    int64_t mid = add_run(f->s, f->alice, 0, "python", true, 3);
    int64_t running = add_run(f->s, f->alice, 0, "python", true, 4);
    int64_t queued = add_run(f->s, f->alice, 0, "python", true, 5);
    int64_t last = add_run(f->s, f->alice, 0, "python", true, 6);
    int64_t bobs = add_run(f->s, f->bob, 0, "python", true, 1);
    int n = -1;

    finish_big(f->s, shared, 10000);
    finish_big(f->s, old, 10000);
    finish_big(f->s, mid, 10000);
    finish_big(f->s, last, 10000);
    finish_big(f->s, bobs, 10000);
    assert_int_equal(store_run_set_running(f->s, running, 10), 0);
    assert_int_equal(store_run_set_shared(f->s, shared, f->alice, "sharedlinkAAAAAAAAAAAA"), 0);
    assert_true(usage_bytes(f->s, f->alice) > 40000);

    /* Room for three finished runs: the last, the shared one, then the newest other. */
    assert_int_equal(store_user_evict(f->s, f->alice, 35000, last, &n), 0);
    assert_int_equal(n, 1);
    assert_false(run_exists(f->s, old));
    assert_true(run_exists(f->s, shared));
    assert_true(run_exists(f->s, mid));
    assert_true(usage_bytes(f->s, f->alice) <= 35000);
    /* Fits: nothing more goes. */
    assert_int_equal(store_user_evict(f->s, f->alice, 35000, last, &n), 0);
    assert_int_equal(n, 0);

    /* Room for nothing: every finished run goes but the one just stored; in flight ones stay. */
    assert_int_equal(store_user_evict(f->s, f->alice, 100, last, &n), 0);
    assert_int_equal(n, 2);
    assert_false(run_exists(f->s, shared));
    assert_false(run_exists(f->s, mid));
    assert_true(run_exists(f->s, last));
    assert_true(run_exists(f->s, running));
    assert_true(run_exists(f->s, queued));
    /* Another user's runs are not touched. */
    assert_true(run_exists(f->s, bobs));
    assert_true(usage_bytes(f->s, f->bob) > 10000);
}

static void test_runs_prune_bytes_takes_the_oldest_of_every_user(void **state)
{
    struct fixture *f = fixture(state);
    int64_t a1 = add_run(f->s, f->alice, 0, "python", true, 1);
    int64_t b1 = add_run(f->s, f->bob, 0, "python", true, 2);
    int64_t queued = add_run(f->s, f->alice, 0, "python", true, 3);
    int64_t a2 = add_run(f->s, f->alice, 0, "python", true, 4);
    int64_t b2 = add_run(f->s, f->bob, 0, "python", true, 5);
    int64_t total = 0;
    int n = -1;

    finish_big(f->s, a1, 10000);
    finish_big(f->s, b1, 10000);
    finish_big(f->s, a2, 10000);
    finish_big(f->s, b2, 10000);
    assert_int_equal(store_runs_bytes(f->s, &total), 0);
    assert_int_equal(total, usage_bytes(f->s, f->alice) + usage_bytes(f->s, f->bob));
    assert_true(total > 40000);

    assert_int_equal(store_runs_prune_bytes(f->s, 25000, &n), 0);
    assert_int_equal(n, 2);
    assert_false(run_exists(f->s, a1));
    assert_false(run_exists(f->s, b1));
    assert_true(run_exists(f->s, queued));
    assert_true(run_exists(f->s, a2));
    assert_true(run_exists(f->s, b2));
    assert_int_equal(store_runs_bytes(f->s, &total), 0);
    assert_true(total <= 25000);
    assert_int_equal(store_runs_prune_bytes(f->s, 25000, &n), 0);
    assert_int_equal(n, 0);
    /* A run in flight is never pruned, even past the size. */
    assert_int_equal(store_runs_prune_bytes(f->s, 0, &n), 0);
    assert_int_equal(n, 2);
    assert_true(run_exists(f->s, queued));
}

/* The JSON text length of @j. */
static size_t text_len_of(json_t *j)
{
    _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);

    assert_non_null(text);
    return strlen(text);
}

static void test_result_cap_keeps_a_small_result_as_it_is(void **state)
{
    json_t *res = json_pack("{sssiss}", "status", "success", "exit_code", 0, "output", "hi\n");
    json_t *capped = NULL;
    size_t bytes = 0;

    (void)state;
    assert_int_equal(store_result_cap(res, 4096, &capped, &bytes), 0);
    assert_ptr_equal(capped, res);
    assert_int_equal(bytes, text_len_of(res));
    assert_null(json_object_get(capped, "stored_truncated"));
    json_decref(capped);
    /* 0: no cap. */
    assert_int_equal(store_result_cap(res, 0, &capped, &bytes), 0);
    assert_ptr_equal(capped, res);
    json_decref(capped);
    json_decref(res);
}

static void test_result_cap_cuts_long_output_and_drops_files_content(void **state)
{
    size_t big = 3u << 20;
    char *out = malloc(big + 1);
    json_t *res, *capped = NULL, *file;
    size_t bytes = 0;
    const char *cut;

    (void)state;
    assert_non_null(out);
    for (size_t i = 0; i < big; i++)
        out[i] = (char)('a' + i % 26);
    out[big] = '\0';
    res = json_pack("{sssissss s[{ssss}] s{ss}}", "status", "success", "exit_code", 0, "output",
                    out, "error", "a warning\n", "files", "name", "big.bin", "content", out + 1000,
                    "compile", "output", "compiled\n");
    assert_non_null(res);
    assert_int_equal(store_result_cap(res, 64 << 10, &capped, &bytes), 0);
    assert_ptr_not_equal(capped, res);
    assert_true(bytes <= 64 << 10);
    assert_int_equal(bytes, text_len_of(capped));
    assert_true(bytes > 32 << 10); /* cut to the cap, not far below it */
    assert_true(json_is_true(json_object_get(capped, "stored_truncated")));
    /* The short fields are whole; the output is the start of the real one. */
    assert_string_equal(json_string_value(json_object_get(capped, "status")), "success");
    assert_string_equal(json_string_value(json_object_get(capped, "error")), "a warning\n");
    assert_string_equal(
            json_string_value(json_object_get(json_object_get(capped, "compile"), "output")),
            "compiled\n");
    cut = json_string_value(json_object_get(capped, "output"));
    assert_true(strlen(cut) > 1000 && strlen(cut) < big);
    assert_memory_equal(cut, out, strlen(cut));
    /* A file's content is dropped, never cut. */
    file = json_array_get(json_object_get(capped, "files"), 0);
    assert_true(json_is_null(json_object_get(file, "content")));
    assert_non_null(json_string_value(json_object_get(file, "omitted")));
    /* The live result is untouched. */
    assert_int_equal(json_string_length(json_object_get(res, "output")), big);
    assert_null(json_object_get(res, "stored_truncated"));
    json_decref(capped);
    json_decref(res);
    free(out);
}

static void test_result_cap_falls_back_to_the_summary(void **state)
{
    json_t *res = json_pack("{sssiss}", "status", "wrong_answer", "exit_code", 1, "language",
                            "python"),
           *tests = json_array(), *capped = NULL;
    size_t bytes = 0;

    (void)state;
    /* Thousands of tiny tests: no string is long, the keys alone are over the cap. */
    for (int i = 0; i < 5000; i++)
        assert_int_equal(json_array_append_new(tests, json_pack("{sisb}", "n", i, "ok", 1)), 0);
    assert_int_equal(json_object_set_new(res, "tests", tests), 0);
    assert_int_equal(store_result_cap(res, 4096, &capped, &bytes), 0);
    assert_true(bytes <= 4096);
    assert_true(json_is_true(json_object_get(capped, "stored_truncated")));
    assert_string_equal(json_string_value(json_object_get(capped, "status")), "wrong_answer");
    assert_int_equal(json_integer_value(json_object_get(capped, "exit_code")), 1);
    assert_null(json_object_get(capped, "tests"));
    /* A cap under 4 KiB counts as 4 KiB. */
    json_decref(capped);
    assert_int_equal(store_result_cap(res, 10, &capped, &bytes), 0);
    assert_true(bytes <= 4096 && bytes > 10);
    json_decref(capped);
    json_decref(res);
}

static void test_result_cap_fits_escaped_and_multibyte_output(void **state)
{
    size_t n = 1u << 20;
    char *ctl = calloc(1, n + 1), *utf = calloc(1, n + 1);
    json_t *res, *capped = NULL;
    size_t bytes = 0;

    (void)state;
    assert_non_null(ctl);
    assert_non_null(utf);
    memset(ctl, '\x01', n); /* "\u0001": six bytes of JSON each */
    for (size_t i = 0; i + 2 <= n; i += 2)
        memcpy(utf + i, "\xc3\xa9", 2); /* é */
    res = json_pack("{ssss}", "output", ctl, "error", utf);
    assert_non_null(res);
    assert_int_equal(store_result_cap(res, 8192, &capped, &bytes), 0);
    assert_true(bytes <= 8192);
    assert_true(json_is_true(json_object_get(capped, "stored_truncated")));
    /* Cut at a character boundary: still UTF-8, so a JSON string. */
    assert_true(json_is_string(json_object_get(capped, "error")));
    assert_int_equal(json_string_length(json_object_get(capped, "error")) % 2, 0);
    json_decref(capped);
    json_decref(res);
    free(ctl);
    free(utf);
}

#define BACKEND_TESTS(X)                                                                         \
    X(test_migrations_are_idempotent_on_reopen), X(test_open_refuses_a_newer_schema),            \
            X(test_store_says_which_backend_it_is), X(test_user_lookup_by_name_and_id),          \
            X(test_user_add_duplicate_name_is_eexist),                                           \
            X(test_user_add_rejects_names_that_do_not_fit), X(test_user_set_password),           \
            X(test_user_list_oldest_first), X(test_user_delete_takes_keys_tokens_and_runs),      \
            X(test_key_lookup_fails_after_revoke), X(test_key_add_checks_owner_and_uniqueness),  \
            X(test_key_list_per_user_and_all), X(test_token_expires_and_is_pruned),              \
            X(test_run_lifecycle_keeps_code_request_and_result),                                 \
            X(test_runs_marked_running_together_leave_a_done_run_done),                          \
            X(test_run_without_history_keeps_only_the_result),                                   \
            X(test_run_of_another_user_is_enoent),                                               \
            X(test_run_share_only_by_its_owner_and_only_from_the_history),                       \
            X(test_run_ids_are_never_reused), X(test_history_pages_with_before),                 \
            X(test_history_filters), X(test_history_code_preview_stops_at_a_character_boundary), \
            X(test_runs_recover_marks_in_flight_runs),                                           \
            X(test_runs_prune_deletes_only_old_finished_runs),                                   \
            X(test_stats_group_finished_runs_by_language_and_status),                            \
            X(test_deliveries_are_listed_oldest_first),                                          \
            X(test_text_that_is_not_utf8_reads_back_the_same),                                   \
            X(test_result_output_with_nul_bytes_reads_back_whole),                               \
            X(test_payload_is_kept_until_the_run_ends), X(test_concurrent_inserts_lose_no_rows), \
            X(test_run_finish_survives_kill_9), X(test_store_error_is_per_thread),               \
            X(test_run_token_finds_the_run_for_its_owner),                                       \
            X(test_run_token_is_unique_and_optional), X(test_run_token_list_pages_newest_first), \
            X(test_deleting_a_token_run_frees_its_token),                                        \
            X(test_password_change_revokes_every_token_of_the_user),                             \
            X(test_token_list_shows_live_sessions_without_secrets),                              \
            X(test_token_revoke_by_id_only_of_its_owner),                                        \
            X(test_key_revoke_of_its_owner_and_all_of_a_user),                                   \
            X(test_run_stored_bytes_count_code_request_and_result),                              \
            X(test_user_quota_is_own_or_default),                                                \
            X(test_user_evict_takes_the_oldest_never_in_flight_and_shared_last),                 \
            X(test_runs_prune_bytes_takes_the_oldest_of_every_user)

#define ON(t, backend, setup)                                                                     \
    {                                                                                             \
        .name = #t " on " backend, .test_func = t, .setup_func = setup, .teardown_func = teardown \
    }
#define ON_SQLITE(t)   ON(t, "sqlite", setup_sqlite)
#define ON_POSTGRES(t) ON(t, "postgresql", setup_pg)
int main(void)
{
    const struct CMUnitTest tests[] = {
            /* No database. */
            cmocka_unit_test(test_run_state_names),
            cmocka_unit_test(test_mask_url_hides_every_password),
            cmocka_unit_test(test_unreachable_server_is_enotconn_without_the_password),
            cmocka_unit_test(test_result_cap_keeps_a_small_result_as_it_is),
            cmocka_unit_test(test_result_cap_cuts_long_output_and_drops_files_content),
            cmocka_unit_test(test_result_cap_fits_escaped_and_multibyte_output),
            cmocka_unit_test(test_result_cap_falls_back_to_the_summary),
            /* SQLite only. */
            ON_SQLITE(test_open_creates_missing_dirs_private),
            cmocka_unit_test(test_open_fails_with_a_reason),
            ON_SQLITE(test_open_url_picks_the_backend),
            /* Both. */
            BACKEND_TESTS(ON_SQLITE),
            BACKEND_TESTS(ON_POSTGRES),
            /* PostgreSQL only. */
            ON(test_pg_first_opens_at_once_migrate_once, "postgresql", setup_pg_empty),
            ON_POSTGRES(test_pg_is_enotconn_while_the_database_is_away_then_recovers),
            ON_POSTGRES(test_pg_insert_with_a_payload_notifies_the_queue),
            ON_POSTGRES(test_pg_open_error_never_shows_the_password),
    };

    if (!pg_server())
        printf("# RUNBOX_TEST_PG_URL is not set: the tests on postgresql are skipped\n");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
