/* The SQLite backend of the store.
 *
 * One connection per store, serialised by a mutex: SQLite would serialise a shared connection
 * anyway, and holding our own lock keeps sqlite3_errmsg() paired with the call that failed.
 * The database runs in WAL mode with synchronous=NORMAL: a committed transaction survives the
 * process being killed (it may be lost on power failure, which we accept). Every statement is
 * prepared with bound parameters; the only SQL built at run time is the history query, and it
 * is assembled from fixed fragments. */
#include "store/store.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/json.h"

struct store {
    /* The one connection, used only with @lock held. */
    sqlite3 *db;
    pthread_mutex_t lock;
    /* PRAGMA user_version once the migrations ran. */
    int schema_version;
};

/* The last error of this thread, for store_error(). */
static _Thread_local char last_error[256];

/*** Schema ***/

/* Migration i takes the schema from version i to version i + 1. Never edit a released entry:
 * append a new one. Foreign keys cascade, so deleting a user takes their keys, tokens and runs
 * with them, and deleting a run takes its webhook deliveries. AUTOINCREMENT keeps the ids of
 * deleted rows from coming back, so an old id in a log or a URL never names a new row. */
static const char *const migrations[] = {
        "CREATE TABLE users ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  name TEXT NOT NULL UNIQUE,"
        "  pw_hash TEXT NOT NULL,"
        "  admin INTEGER NOT NULL DEFAULT 0,"
        "  created_at INTEGER NOT NULL" /* unix seconds */
        ");"
        "CREATE TABLE api_keys ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  name TEXT NOT NULL,"
        "  key_hash TEXT NOT NULL UNIQUE,"
        "  created_at INTEGER NOT NULL," /* unix seconds */
        "  revoked_at INTEGER"
        ");"
        "CREATE INDEX api_keys_user ON api_keys(user_id);"
        "CREATE TABLE tokens ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  token_hash TEXT NOT NULL UNIQUE,"
        "  expires_at INTEGER NOT NULL"
        ");"
        "CREATE INDEX tokens_user ON tokens(user_id);"
        "CREATE INDEX tokens_expires ON tokens(expires_at);"
        "CREATE TABLE runs ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  project_id INTEGER NOT NULL DEFAULT 0,"
        "  language TEXT NOT NULL,"
        "  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done')),"
        "  status TEXT,"
        "  code TEXT,"
        "  request TEXT,"
        "  result TEXT,"
        "  exit_code INTEGER,"
        "  execution_time REAL,"
        "  in_history INTEGER NOT NULL,"
        "  callback_url TEXT,"
        "  created_at INTEGER NOT NULL," /* unix ms, like the other run times */
        "  started_at INTEGER,"
        "  finished_at INTEGER"
        ");"
        "CREATE INDEX runs_user_id ON runs(user_id, id DESC);"
        "CREATE INDEX runs_user_project ON runs(user_id, project_id, id DESC);"
        "CREATE INDEX runs_created ON runs(created_at);"
        "CREATE INDEX runs_unfinished ON runs(state) WHERE state != 'done';"
        "CREATE TABLE webhook_deliveries ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
        "  url TEXT NOT NULL,"
        "  attempt INTEGER NOT NULL,"
        "  http_status INTEGER NOT NULL,"
        "  error TEXT NOT NULL,"
        "  at INTEGER NOT NULL" /* unix ms */
        ");"
        "CREATE INDEX webhook_deliveries_run ON webhook_deliveries(run_id, id);",
        /* 2: share links. Any logged-in user may read a shared run of the history. */
        "ALTER TABLE runs ADD COLUMN shared INTEGER NOT NULL DEFAULT 0;",
};

/* The result given to runs that the server died under. */
#define RESULT_RESTARTED                                                                  \
    "{\"status\":\"internal_error\",\"error\":\"server restarted\",\"message\":\"server " \
    "restarted\",\"output\":\"\",\"exit_code\":null}"

/*** Plumbing: locking, errors, statements ***/

static struct store *lock(struct store *s)
{
    (void)pthread_mutex_lock(&s->lock);
    return s;
}

static void unlockp(struct store **s)
{
    if (*s)
        (void)pthread_mutex_unlock(&(*s)->lock);
}

/* Holds @s's lock until the end of the enclosing scope. Declare it before any statement, so
 * that statements are finalised while the lock is still held. */
#define LOCK_SCOPE(s) _cleanup_(unlockp) __attribute__((unused)) struct store *_locked_ = lock(s)

static void finalizep(sqlite3_stmt **st)
{
    if (*st)
        (void)sqlite3_finalize(*st);
}

#define _cleanup_stmt_ _cleanup_(finalizep)

/* json_decrefp() comes with jansson. */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* Record the connection's error message for store_error() and map SQLite code @rc to -errno. */
static int fail(struct store *s, int rc)
{
    (void)snprintf(last_error, sizeof(last_error), "%s", sqlite3_errmsg(s->db));
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return -EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return -ENOENT; /* the user or run it refers to is not there */
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_TOOBIG:
        return -E2BIG;
    default:
        return -EIO;
    }
}

/* A failed sqlite3_bind_*(): only an oversized value can do it, or an index bug. */
static int bind_failed(struct store *s)
{
    return fail(s, sqlite3_extended_errcode(s->db));
}

static int prepare(struct store *s, const char *sql, sqlite3_stmt **ret)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, ret, NULL);

    return rc == SQLITE_OK ? 0 : fail(s, rc);
}

/* Run a statement that returns no rows. */
static int step_done(struct store *s, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    return rc == SQLITE_DONE ? 0 : fail(s, rc);
}

/* Step to the one row a lookup expects: 0 with the row ready, -ENOENT if there is none. */
static int step_row(struct store *s, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : fail(s, rc);
}

/* Run a write that must touch a row: -ENOENT when it touched none. */
static int step_changed(struct store *s, sqlite3_stmt *st, int *ret_n)
{
    int r = step_done(s, st);

    if (r < 0)
        return r;
    if (ret_n)
        *ret_n = sqlite3_changes(s->db);
    else if (sqlite3_changes(s->db) == 0)
        return -ENOENT;
    return 0;
}

/* Compact JSON text of @j (NULL gives NULL), into *ret. */
static int dump_json(json_t *j, char **ret)
{
    *ret = NULL;
    if (!j)
        return 0;
    *ret = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    return *ret ? 0 : -ENOMEM;
}

/*** Rows as JSON: each query's columns are described by a table ***/

enum col_kind {
    COL_INT,
    COL_REAL,
    COL_BOOL,
    COL_TEXT,
    COL_JSON,    /* JSON text, parsed back into a value */
    COL_PREVIEW, /* up to 200 bytes of text, cut at a character boundary; NULL gives "" */
};

struct col {
    const char *key;
    enum col_kind kind;
};

#define PREVIEW_BYTES 200

/* The length of @p[0..len) without a trailing UTF-8 sequence that the cut left incomplete. */
static size_t utf8_cut(const unsigned char *p, size_t len)
{
    size_t lead = len, need;

    while (lead > 0 && (p[lead - 1] & 0xc0) == 0x80 && len - lead < 3)
        lead--;
    if (lead == 0 || p[lead - 1] < 0xc0)
        return len;
    need = p[lead - 1] >= 0xf0 ? 4 : p[lead - 1] >= 0xe0 ? 3 : 2;
    return len - (lead - 1) < need ? lead - 1 : len;
}

static int col_json(sqlite3_stmt *st, int i, json_t **ret)
{
    const char *text = (const char *)sqlite3_column_text(st, i);
    size_t len = (size_t)sqlite3_column_bytes(st, i);
    json_error_t jerr;

    if (!text)
        return -ENOMEM;
    *ret = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!*ret) {
        (void)snprintf(last_error, sizeof(last_error), "stored JSON in column '%s': %s",
                       sqlite3_column_name(st, i), jerr.text);
        return -EIO;
    }
    return 0;
}

/* Column @i of the current row of @st as a new JSON value in *ret. */
static int col_value(sqlite3_stmt *st, int i, enum col_kind kind, json_t **ret)
{
    const unsigned char *p;
    size_t len;

    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        *ret = kind == COL_PREVIEW ? json_string("") : json_null();
    else if (kind == COL_INT)
        *ret = json_integer(sqlite3_column_int64(st, i));
    else if (kind == COL_REAL)
        *ret = json_real(sqlite3_column_double(st, i));
    else if (kind == COL_BOOL)
        *ret = json_boolean(sqlite3_column_int64(st, i) != 0);
    else if (kind == COL_JSON)
        return col_json(st, i, ret);
    else {
        /* Text and previews: the bytes as stored, never trusted to be valid UTF-8. */
        p = sqlite3_column_blob(st, i);
        len = (size_t)sqlite3_column_bytes(st, i);
        if (kind == COL_PREVIEW && len > PREVIEW_BYTES)
            len = PREVIEW_BYTES;
        if (kind == COL_PREVIEW)
            len = utf8_cut(p, len);
        *ret = json_text_lossy(p ? (const char *)p : "", len);
    }
    return *ret ? 0 : -ENOMEM;
}

/* The current row of @st as an object keyed by @cols (the query's columns, in order). */
static int row_object(sqlite3_stmt *st, const struct col *cols, size_t n, json_t **ret)
{
    _cleanup_json_ json_t *o = json_object();
    int r;

    if (!o)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *v = NULL;

        r = col_value(st, (int)i, cols[i].kind, &v);
        if (r < 0)
            return r;
        if (json_object_set_new(o, cols[i].key, v) < 0)
            return -ENOMEM;
    }
    *ret = TAKE_PTR(o);
    return 0;
}

/* Every remaining row of @st as an array of objects. */
static int rows_array(struct store *s, sqlite3_stmt *st, const struct col *cols, size_t n,
                      json_t **ret)
{
    _cleanup_json_ json_t *a = json_array();
    int rc, r;

    if (!a)
        return -ENOMEM;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = NULL;

        r = row_object(st, cols, n, &o);
        if (r < 0)
            return r;
        if (json_array_append_new(a, o) < 0)
            return -ENOMEM;
    }
    if (rc != SQLITE_DONE)
        return fail(s, rc);
    *ret = TAKE_PTR(a);
    return 0;
}

/*** Opening and migrations ***/

/* mkdir -p @path, creating what is missing with mode 0700. */
static int mkdir_p(const char *path)
{
    _cleanup_free_ char *p = strdup(path);

    if (!p)
        return -ENOMEM;
    for (char *c = p + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            return -errno;
        *c = '/';
    }
    if (mkdir(p, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int exec_sql(struct store *s, const char *sql)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? 0 : fail(s, rc);
}

static int user_version(struct store *s, int *ret)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    r = prepare(s, "PRAGMA user_version", &st);
    if (r < 0)
        return r;
    r = step_row(s, st);
    if (r < 0)
        return r == -ENOENT ? -EIO : r;
    *ret = sqlite3_column_int(st, 0);
    return 0;
}

/* Apply migration @i and bump user_version to @i + 1, in one transaction. */
static int migrate_one(struct store *s, size_t i)
{
    char bump[64];
    int r;

    r = exec_sql(s, "BEGIN IMMEDIATE");
    if (r < 0)
        return r;
    (void)snprintf(bump, sizeof(bump), "PRAGMA user_version = %zu", i + 1);
    r = exec_sql(s, migrations[i]);
    if (r >= 0)
        r = exec_sql(s, bump);
    if (r >= 0)
        r = exec_sql(s, "COMMIT");
    if (r < 0)
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

static int migrate(struct store *s, char *err, size_t errlen)
{
    int version, r;

    r = user_version(s, &version);
    if (r < 0)
        return r;
    if (version < 0 || (size_t)version > ARRAY_SIZE(migrations)) {
        (void)snprintf(err, errlen, "database schema version %d is newer than this runbox (%zu)",
                       version, ARRAY_SIZE(migrations));
        return -EPROTO;
    }
    for (size_t i = (size_t)version; i < ARRAY_SIZE(migrations); i++) {
        r = migrate_one(s, i);
        if (r < 0) {
            (void)snprintf(err, errlen, "migration to schema version %zu: %s", i + 1, last_error);
            return r;
        }
    }
    return user_version(s, &s->schema_version);
}

/* Connection settings: see the top of this file for why WAL and synchronous=NORMAL. */
static int configure(struct store *s)
{
    int r;

    (void)sqlite3_extended_result_codes(s->db, 1);
    if (sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK)
        return fail(s, sqlite3_errcode(s->db));
    r = exec_sql(s, "PRAGMA journal_mode = WAL");
    if (r >= 0)
        r = exec_sql(s, "PRAGMA synchronous = NORMAL");
    if (r >= 0)
        r = exec_sql(s, "PRAGMA foreign_keys = ON");
    return r;
}

int store_open(const char *dir, struct store **ret, char *err, size_t errlen)
{
    char path[4096];
    struct store *s;
    int rc, r;

    r = mkdir_p(dir);
    if (r < 0) {
        (void)snprintf(err, errlen, "cannot create '%s': %s", dir, strerror(-r));
        return r;
    }
    r = path_join(path, sizeof(path), dir, "runbox.db");
    if (r < 0) {
        (void)snprintf(err, errlen, "path too long: '%s'", dir);
        return r;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        (void)snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    (void)pthread_mutex_init(&s->lock, NULL);
    /* Our own mutex serialises every use, so SQLite's per-connection one is not needed. */
    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        (void)snprintf(err, errlen, "cannot open '%s': %s", path,
                       s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        store_free(s);
        return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
    }
    r = configure(s);
    if (r < 0)
        (void)snprintf(err, errlen, "'%s': %s", path, last_error);
    else
        r = migrate(s, err, errlen);
    if (r < 0) {
        store_free(s);
        return r;
    }
    *ret = s;
    return 0;
}

struct store *store_free(struct store *s)
{
    if (!s)
        return NULL;
    /* Every statement is finalised by the call that made it, so close cannot be refused. */
    (void)sqlite3_close(s->db);
    (void)pthread_mutex_destroy(&s->lock);
    free(s);
    return NULL;
}

const char *store_error(void)
{
    return last_error;
}

int store_schema_version(struct store *s)
{
    return s->schema_version;
}

/*** Users ***/

#define USER_NAME_SIZE    sizeof(((struct store_user *)NULL)->name)
#define USER_PW_HASH_SIZE sizeof(((struct store_user *)NULL)->pw_hash)

/* True when @str is there and fits a buffer of @size bytes with its NUL. */
static bool fits(const char *str, size_t size)
{
    return str && strnlen(str, size) < size;
}

int store_user_add(struct store *s, const char *name, const char *pw_hash, bool admin,
                   int64_t *ret_id)
{
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    if (!fits(name, USER_NAME_SIZE) || !*name || !fits(pw_hash, USER_PW_HASH_SIZE))
        return -EINVAL;
    r = prepare(s, "INSERT INTO users (name, pw_hash, admin, created_at) VALUES (?, ?, ?, ?)", &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, pw_hash, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int(st, 3, admin) != SQLITE_OK ||
        sqlite3_bind_int64(st, 4, (int64_t)time(NULL)) != SQLITE_OK)
        return bind_failed(s);
    r = step_done(s, st);
    if (r < 0)
        return r;
    if (ret_id)
        *ret_id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

/* Fill @ret from a row of (id, name, pw_hash, admin, created_at). */
static int user_from_row(struct store *s, sqlite3_stmt *st, struct store_user *ret)
{
    const char *name = (const char *)sqlite3_column_text(st, 1);
    const char *pw_hash = (const char *)sqlite3_column_text(st, 2);

    if (!fits(name, sizeof(ret->name)) || !fits(pw_hash, sizeof(ret->pw_hash))) {
        (void)snprintf(last_error, sizeof(last_error), "user %lld: bad stored name or hash",
                       (long long)sqlite3_column_int64(st, 0));
        return -EIO;
    }
    ret->id = sqlite3_column_int64(st, 0);
    (void)snprintf(ret->name, sizeof(ret->name), "%s", name);
    (void)snprintf(ret->pw_hash, sizeof(ret->pw_hash), "%s", pw_hash);
    ret->admin = sqlite3_column_int(st, 3) != 0;
    ret->created_at = sqlite3_column_int64(st, 4);
    return 0;
}

#define USER_COLUMNS "SELECT id, name, pw_hash, admin, created_at FROM users "

int store_user_by_name(struct store *s, const char *name, struct store_user *ret)
{
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    r = prepare(s, USER_COLUMNS "WHERE name = ?", &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK)
        return bind_failed(s);
    r = step_row(s, st);
    return r < 0 ? r : user_from_row(s, st, ret);
}

int store_user_by_id(struct store *s, int64_t id, struct store_user *ret)
{
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    r = prepare(s, USER_COLUMNS "WHERE id = ?", &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK)
        return bind_failed(s);
    r = step_row(s, st);
    return r < 0 ? r : user_from_row(s, st, ret);
}

int store_user_set_password(struct store *s, int64_t id, const char *pw_hash)
{
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    if (!fits(pw_hash, USER_PW_HASH_SIZE))
        return -EINVAL;
    r = prepare(s, "UPDATE users SET pw_hash = ? WHERE id = ?", &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_text(st, 1, pw_hash, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, id) != SQLITE_OK)
        return bind_failed(s);
    return step_changed(s, st, NULL);
}

int store_user_delete(struct store *s, int64_t id)
{
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    /* The foreign keys cascade to api_keys, tokens, runs and their deliveries, all in this one
     * statement, so a crash leaves either all of them or none. */
    r = prepare(s, "DELETE FROM users WHERE id = ?", &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK)
        return bind_failed(s);
    return step_changed(s, st, NULL);
}

int store_user_list(struct store *s, json_t **ret)
{
    static const struct col cols[] = {
            {"id", COL_INT},
            {"name", COL_TEXT},
            {"admin", COL_BOOL},
            {"created_at", COL_INT},
    };
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    r = prepare(s, "SELECT id, name, admin, created_at FROM users ORDER BY id", &st);
    if (r < 0)
        return r;
    return rows_array(s, st, cols, ARRAY_SIZE(cols), ret);
}

/*** API keys and login tokens ***/

int store_key_add(struct store *s, int64_t user_id, const char *name, const char *key_hash,
                  int64_t *ret_id)
{
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    if (!name || !key_hash)
        return -EINVAL;
    r = prepare(s, "INSERT INTO api_keys (user_id, name, key_hash, created_at) VALUES (?, ?, ?, ?)",
                &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_int64(st, 1, user_id) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 3, key_hash, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 4, (int64_t)time(NULL)) != SQLITE_OK)
        return bind_failed(s);
    r = step_done(s, st);
    if (r < 0)
        return r;
    if (ret_id)
        *ret_id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int store_key_lookup(struct store *s, const char *key_hash, int64_t *ret_user_id,
                     int64_t *ret_key_id)
{
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    r = prepare(s, "SELECT user_id, id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
                &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_text(st, 1, key_hash, -1, SQLITE_STATIC) != SQLITE_OK)
        return bind_failed(s);
    r = step_row(s, st);
    if (r < 0)
        return r;
    if (ret_user_id)
        *ret_user_id = sqlite3_column_int64(st, 0);
    if (ret_key_id)
        *ret_key_id = sqlite3_column_int64(st, 1);
    return 0;
}

int store_key_revoke(struct store *s, int64_t key_id)
{
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    /* A key already revoked is -ENOENT, like one that never existed. */
    r = prepare(s, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_int64(st, 1, (int64_t)time(NULL)) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, key_id) != SQLITE_OK)
        return bind_failed(s);
    return step_changed(s, st, NULL);
}

int store_key_list(struct store *s, int64_t user_id, json_t **ret)
{
    static const struct col cols[] = {
            {"id", COL_INT},    {"user_id", COL_INT},    {"user", COL_TEXT},
            {"name", COL_TEXT}, {"created_at", COL_INT}, {"revoked_at", COL_INT},
    };
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    r = prepare(s,
                "SELECT k.id, k.user_id, u.name, k.name, k.created_at, k.revoked_at"
                " FROM api_keys k JOIN users u ON u.id = k.user_id"
                " WHERE ?1 = 0 OR k.user_id = ?1 ORDER BY k.id",
                &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_int64(st, 1, user_id) != SQLITE_OK)
        return bind_failed(s);
    return rows_array(s, st, cols, ARRAY_SIZE(cols), ret);
}

int store_token_add(struct store *s, int64_t user_id, const char *token_hash, int64_t expires_at)
{
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    if (!token_hash)
        return -EINVAL;
    r = prepare(s, "INSERT INTO tokens (user_id, token_hash, expires_at) VALUES (?, ?, ?)", &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_int64(st, 1, user_id) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, token_hash, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 3, expires_at) != SQLITE_OK)
        return bind_failed(s);
    return step_done(s, st);
}

int store_token_lookup(struct store *s, const char *token_hash, int64_t now, int64_t *ret_user_id)
{
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    r = prepare(s, "SELECT user_id FROM tokens WHERE token_hash = ? AND expires_at > ?", &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_text(st, 1, token_hash, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, now) != SQLITE_OK)
        return bind_failed(s);
    r = step_row(s, st);
    if (r < 0)
        return r;
    if (ret_user_id)
        *ret_user_id = sqlite3_column_int64(st, 0);
    return 0;
}

int store_token_prune(struct store *s, int64_t now)
{
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int n, r;

    r = prepare(s, "DELETE FROM tokens WHERE expires_at < ?", &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_int64(st, 1, now) != SQLITE_OK)
        return bind_failed(s);
    return step_changed(s, st, &n);
}

/*** Runs ***/

static const char *const run_states[] = {
        [STORE_RUN_QUEUED] = "queued",
        [STORE_RUN_RUNNING] = "running",
        [STORE_RUN_DONE] = "done",
};

const char *store_run_state_to_string(enum store_run_state s)
{
    if ((size_t)s >= ARRAY_SIZE(run_states))
        return "unknown";
    return run_states[s];
}

int store_run_insert(struct store *s, const struct store_run_new *rn, int64_t *ret_id)
{
    _cleanup_free_ char *request = NULL;
    int r;

    if (!rn->language)
        return -EINVAL;
    r = dump_json(rn->save_history ? rn->request : NULL, &request);
    if (r < 0)
        return r;

    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;

    r = prepare(s,
                "INSERT INTO runs (user_id, project_id, language, state, code, request,"
                " in_history, callback_url, created_at) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
                &st);
    if (r < 0)
        return r;
    /* A NULL text binds SQL NULL. */
    if (sqlite3_bind_int64(st, 1, rn->user_id) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, rn->project_id) != SQLITE_OK ||
        sqlite3_bind_text(st, 3, rn->language, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 4, rn->save_history ? rn->code : NULL, -1, SQLITE_STATIC) !=
                SQLITE_OK ||
        sqlite3_bind_text(st, 5, request, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int(st, 6, rn->save_history) != SQLITE_OK ||
        sqlite3_bind_text(st, 7, rn->callback_url, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 8, rn->created_at) != SQLITE_OK)
        return bind_failed(s);
    r = step_done(s, st);
    if (r < 0)
        return r;
    if (ret_id)
        *ret_id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int store_run_set_running(struct store *s, int64_t id, int64_t started_at_ms)
{
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    /* A finished run never goes back to running. */
    r = prepare(
            s, "UPDATE runs SET state = 'running', started_at = ? WHERE id = ? AND state != 'done'",
            &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_int64(st, 1, started_at_ms) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, id) != SQLITE_OK)
        return bind_failed(s);
    return step_changed(s, st, NULL);
}

int store_run_finish(struct store *s, int64_t id, const char *status, json_t *result,
                     double execution_time, int64_t finished_at_ms)
{
    _cleanup_free_ char *text = NULL;
    json_t *exit_code = json_object_get(result, "exit_code");
    int r;

    if (!status || !isfinite(execution_time))
        return -EINVAL;
    r = dump_json(result, &text);
    if (r < 0)
        return r;

    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;

    /* One autocommit statement: committed (in the WAL) when sqlite3_step() returns. */
    r = prepare(s,
                "UPDATE runs SET state = 'done', status = ?, result = ?, exit_code = ?,"
                " execution_time = ?, finished_at = ? WHERE id = ?",
                &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC) != SQLITE_OK ||
        (json_is_integer(exit_code) ? sqlite3_bind_int64(st, 3, json_integer_value(exit_code))
                                    : sqlite3_bind_null(st, 3)) != SQLITE_OK ||
        sqlite3_bind_double(st, 4, execution_time) != SQLITE_OK ||
        sqlite3_bind_int64(st, 5, finished_at_ms) != SQLITE_OK ||
        sqlite3_bind_int64(st, 6, id) != SQLITE_OK)
        return bind_failed(s);
    return step_changed(s, st, NULL);
}

int store_run_get(struct store *s, int64_t id, int64_t user_id, json_t **ret)
{
    static const struct col cols[] = {
            {"id", COL_INT},          {"user_id", COL_INT},
            {"project_id", COL_INT},  {"language", COL_TEXT},
            {"state", COL_TEXT},      {"status", COL_TEXT},
            {"created_at", COL_INT},  {"started_at", COL_INT},
            {"finished_at", COL_INT}, {"execution_time", COL_REAL},
            {"in_history", COL_BOOL}, {"callback_url", COL_TEXT},
            {"code", COL_TEXT},       {"request", COL_JSON},
            {"result", COL_JSON},     {"shared", COL_BOOL},
    };
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    r = prepare(s,
                "SELECT id, user_id, project_id, language, state, status, created_at,"
                " started_at, finished_at, execution_time, in_history, callback_url, code,"
                " request, result, shared FROM runs WHERE id = ?1 AND (?2 = 0 OR user_id = ?2)",
                &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, user_id) != SQLITE_OK)
        return bind_failed(s);
    r = step_row(s, st);
    if (r < 0)
        return r;
    return row_object(st, cols, ARRAY_SIZE(cols), ret);
}

/* Bind @v to the named parameter @name when the query has it. */
static int bind_named_int64(sqlite3_stmt *st, const char *name, int64_t v)
{
    int i = sqlite3_bind_parameter_index(st, name);

    return i ? sqlite3_bind_int64(st, i, v) : SQLITE_OK;
}

static int bind_named_text(sqlite3_stmt *st, const char *name, const char *v)
{
    int i = sqlite3_bind_parameter_index(st, name);

    return i ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : SQLITE_OK;
}

/* The history query for @q: fixed fragments only, each with its named parameter. */
static int history_prepare(struct store *s, const struct store_history_query *q, sqlite3_stmt **ret)
{
    char sql[512] = "SELECT id, project_id, language, status, state, created_at, execution_time,"
                    " exit_code, substr(CAST(code AS BLOB), 1, 200), shared FROM runs"
                    " WHERE in_history";
    int r;

    if (q->user_id)
        (void)strcat(sql, " AND user_id = :user");
    if (q->project_id)
        (void)strcat(sql, " AND project_id = :project");
    if (q->language)
        (void)strcat(sql, " AND language = :language");
    if (q->status)
        (void)strcat(sql, " AND status = :status");
    if (q->before)
        (void)strcat(sql, " AND id < :before");
    (void)strcat(sql, " ORDER BY id DESC LIMIT :limit");
    r = prepare(s, sql, ret);
    if (r < 0)
        return r;
    /* One row more than asked tells whether there is a next page. */
    if (bind_named_int64(*ret, ":user", q->user_id) != SQLITE_OK ||
        bind_named_int64(*ret, ":project", q->project_id) != SQLITE_OK ||
        bind_named_text(*ret, ":language", q->language) != SQLITE_OK ||
        bind_named_text(*ret, ":status", q->status) != SQLITE_OK ||
        bind_named_int64(*ret, ":before", q->before) != SQLITE_OK ||
        bind_named_int64(*ret, ":limit", (int64_t)q->limit + 1) != SQLITE_OK)
        return bind_failed(s);
    return 0;
}

int store_run_history(struct store *s, const struct store_history_query *q, json_t **ret)
{
    static const struct col cols[] = {
            {"id", COL_INT},
            {"project_id", COL_INT},
            {"language", COL_TEXT},
            {"status", COL_TEXT},
            {"state", COL_TEXT},
            {"created_at", COL_INT},
            {"execution_time", COL_REAL},
            {"exit_code", COL_INT},
            {"code_preview", COL_PREVIEW},
            {"shared", COL_BOOL},
    };
    _cleanup_json_ json_t *runs = NULL;
    json_t *next = NULL;
    size_t n;
    int r;

    if (q->limit < 1 || q->limit > 500)
        return -EINVAL;
    {
        LOCK_SCOPE(s);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;

        r = history_prepare(s, q, &st);
        if (r < 0)
            return r;
        r = rows_array(s, st, cols, ARRAY_SIZE(cols), &runs);
        if (r < 0)
            return r;
    }
    n = json_array_size(runs);
    if (n > q->limit) {
        (void)json_array_remove(runs, n - 1);
        next = json_object_get(json_array_get(runs, n - 2), "id");
    }
    *ret = json_pack("{sOso}", "runs", runs, "next_before", next ? json_copy(next) : json_null());
    return *ret ? 0 : -ENOMEM;
}

int store_run_set_shared(struct store *s, int64_t id, int64_t user_id, bool shared)
{
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    r = prepare(s,
                "UPDATE runs SET shared = ?3 WHERE id = ?1 AND (?2 = 0 OR user_id = ?2)"
                " AND in_history",
                &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, user_id) != SQLITE_OK ||
        sqlite3_bind_int(st, 3, shared) != SQLITE_OK)
        return bind_failed(s);
    return step_changed(s, st, NULL);
}

int store_run_delete(struct store *s, int64_t id, int64_t user_id)
{
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    r = prepare(s, "DELETE FROM runs WHERE id = ?1 AND (?2 = 0 OR user_id = ?2)", &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, user_id) != SQLITE_OK)
        return bind_failed(s);
    return step_changed(s, st, NULL);
}

int store_runs_recover(struct store *s, int64_t now_ms, int *ret_n)
{
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int n, r;

    r = prepare(s,
                "UPDATE runs SET state = 'done', status = 'internal_error',"
                " result = coalesce(result, ?1), finished_at = coalesce(finished_at, ?2)"
                " WHERE state != 'done'",
                &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_text(st, 1, RESULT_RESTARTED, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, now_ms) != SQLITE_OK)
        return bind_failed(s);
    r = step_changed(s, st, &n);
    if (r >= 0 && ret_n)
        *ret_n = n;
    return r;
}

int store_runs_prune(struct store *s, int64_t before_ms, int *ret_n)
{
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int n, r;

    r = prepare(s, "DELETE FROM runs WHERE state = 'done' AND created_at < ?", &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_int64(st, 1, before_ms) != SQLITE_OK)
        return bind_failed(s);
    r = step_changed(s, st, &n);
    if (r >= 0 && ret_n)
        *ret_n = n;
    return r;
}

int store_stats(struct store *s, int64_t user_id, json_t **ret)
{
    static const struct col cols[] = {
            {"language", COL_TEXT},
            {"status", COL_TEXT},
            {"count", COL_INT},
            {"avg_execution_time", COL_REAL},
    };
    _cleanup_json_ json_t *groups = NULL;
    json_int_t total = 0;
    int r;

    {
        LOCK_SCOPE(s);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;

        r = prepare(s,
                    "SELECT language, status, count(*), avg(execution_time) FROM runs"
                    " WHERE state = 'done' AND (?1 = 0 OR user_id = ?1)"
                    " GROUP BY language, status ORDER BY language, status",
                    &st);
        if (r < 0)
            return r;
        if (sqlite3_bind_int64(st, 1, user_id) != SQLITE_OK)
            return bind_failed(s);
        r = rows_array(s, st, cols, ARRAY_SIZE(cols), &groups);
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < json_array_size(groups); i++)
        total += json_integer_value(json_object_get(json_array_get(groups, i), "count"));
    *ret = json_pack("{sOsI}", "languages", groups, "total", total);
    return *ret ? 0 : -ENOMEM;
}

/*** Webhook deliveries ***/

int store_delivery_log(struct store *s, int64_t run_id, const char *url, int attempt,
                       int http_status, const char *error, int64_t at_ms)
{
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    if (!url)
        return -EINVAL;
    r = prepare(s,
                "INSERT INTO webhook_deliveries (run_id, url, attempt, http_status, error, at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_int64(st, 1, run_id) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int(st, 3, attempt) != SQLITE_OK ||
        sqlite3_bind_int(st, 4, http_status) != SQLITE_OK ||
        sqlite3_bind_text(st, 5, error ? error : "", -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 6, at_ms) != SQLITE_OK)
        return bind_failed(s);
    return step_done(s, st);
}

int store_delivery_list(struct store *s, int64_t run_id, json_t **ret)
{
    static const struct col cols[] = {
            {"attempt", COL_INT}, {"url", COL_TEXT}, {"http_status", COL_INT},
            {"error", COL_TEXT},  {"at", COL_INT},
    };
    LOCK_SCOPE(s);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    r = prepare(s,
                "SELECT attempt, url, http_status, error, at FROM webhook_deliveries"
                " WHERE run_id = ? ORDER BY id",
                &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_int64(st, 1, run_id) != SQLITE_OK)
        return bind_failed(s);
    return rows_array(s, st, cols, ARRAY_SIZE(cols), ret);
}
