/* The SQLite backend of the store: the embedded database "runbox.db" under the data dir.
 *
 * One connection per store, serialised by a mutex: SQLite would serialise a shared connection
 * anyway, and holding our own lock keeps sqlite3_errmsg() paired with the call that failed.
 * The database runs in WAL mode with synchronous=NORMAL: a committed transaction survives the
 * process being killed (it may be lost on power failure, which we accept). The schema version
 * lives in PRAGMA user_version.
 *
 * Prepared statements are kept (a small cache keyed by the statement's text, least recently
 * used replaced): compiling an UPDATE of the runs table, with its indexes, cost more CPU than
 * running it (~0.1 ms each, three per run on the server's request path). A cached statement is
 * reset, its bindings cleared, when its rows are freed, so it holds no read transaction between
 * uses; one already in use (a statement run inside another's loop) is prepared afresh. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store-int.h"

#define STMT_CACHE_SIZE     32
#define STMT_CACHE_MAX_TEXT 4096 /* longer statements are prepared each time */

/* A prepared statement kept for the next use of the same text; under the store's lock. */
struct cached_stmt {
    char *sql; /* the translated text, NULL for a free slot */
    sqlite3_stmt *st;
    uint64_t last_used;
    bool in_use; /* some lite_rows runs it now */
};

struct lite_store {
    struct store base;
    /* The one connection, used only by whoever holds @lock (store__acquire()). */
    struct store__conn conn;
    sqlite3 *db;
    pthread_mutex_t lock;
    /* Under @lock: */
    struct cached_stmt cache[STMT_CACHE_SIZE];
    uint64_t clock;
};

struct lite_rows {
    struct store__rows base;
    sqlite3_stmt *st;
    struct cached_stmt *cached; /* where @st came from, or NULL: finalised when freed */
    int64_t changes;
};

static struct lite_store *lite(struct store__conn *c)
{
    return (struct lite_store *)c->s;
}

static struct lite_rows *rows_of(struct store__rows *r)
{
    return (struct lite_rows *)r;
}

/* Record the connection's error message and map SQLite code @rc to -errno. */
static int fail(sqlite3 *db, int rc)
{
    store__set_error("%s", sqlite3_errmsg(db));
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

/*** Connections ***/

static int lite_acquire(struct store *s, struct store__conn **ret)
{
    struct lite_store *l = (struct lite_store *)s;

    (void)pthread_mutex_lock(&l->lock);
    *ret = &l->conn;
    return 0;
}

static void lite_release(struct store__conn *c)
{
    struct lite_store *l = lite(c);

    if (!sqlite3_get_autocommit(l->db))
        (void)sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    (void)pthread_mutex_unlock(&l->lock);
}

static int lite_exec(struct store__conn *c, const char *sql)
{
    sqlite3 *db = lite(c)->db;
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? 0 : fail(db, sqlite3_extended_errcode(db));
}

/*** Statements ***/

/* @sql with each "$N" placeholder as SQLite's "?N", into a malloc'd *ret. The store's queries
 * hold no "$" in their literals. */
static int translate(const char *sql, char **ret)
{
    char *out = strdup(sql);

    if (!out)
        return -ENOMEM;
    for (char *p = out; *p; p++)
        if (p[0] == '$' && p[1] >= '0' && p[1] <= '9')
            *p = '?';
    *ret = out;
    return 0;
}

static int bind(sqlite3_stmt *st, int i, const struct store__arg *a)
{
    switch (a->kind) {
    case STORE__ARG_INT:
        return sqlite3_bind_int64(st, i, a->i);
    case STORE__ARG_REAL:
        return sqlite3_bind_double(st, i, a->d);
    case STORE__ARG_TEXT:
        /* A NULL text binds SQL NULL. */
        return sqlite3_bind_text(st, i, a->text, -1, SQLITE_STATIC);
    case STORE__ARG_NULL:
        break;
    }
    return sqlite3_bind_null(st, i);
}

/*** The statement cache ***/

/* A free cached statement for @sql (marked in use), or NULL. */
static struct cached_stmt *cache_find(struct lite_store *l, const char *sql)
{
    for (size_t i = 0; i < STMT_CACHE_SIZE; i++) {
        struct cached_stmt *e = &l->cache[i];
        if (e->sql && !e->in_use && strcmp(e->sql, sql) == 0) {
            e->in_use = true;
            e->last_used = ++l->clock;
            return e;
        }
    }
    return NULL;
}

/* Keep @st, prepared from @sql (taken), in a free slot or the least recently used idle one;
 * the slot, marked in use, or NULL (then the caller still owns @sql and @st). */
static struct cached_stmt *cache_add(struct lite_store *l, char *sql, sqlite3_stmt *st)
{
    struct cached_stmt *victim = NULL;

    for (size_t i = 0; i < STMT_CACHE_SIZE; i++) {
        struct cached_stmt *e = &l->cache[i];
        if (e->in_use)
            continue;
        if (!e->sql) {
            victim = e;
            break;
        }
        if (!victim || e->last_used < victim->last_used)
            victim = e;
    }
    if (!victim)
        return NULL;
    if (victim->sql) {
        (void)sqlite3_finalize(victim->st);
        free(victim->sql);
    }
    *victim = (struct cached_stmt){.sql = sql, .st = st, .last_used = ++l->clock, .in_use = true};
    return victim;
}

static void cache_clear(struct lite_store *l)
{
    for (size_t i = 0; i < STMT_CACHE_SIZE; i++) {
        struct cached_stmt *e = &l->cache[i];
        if (e->sql) {
            (void)sqlite3_finalize(e->st);
            free(e->sql);
        }
        *e = (struct cached_stmt){0};
    }
}

/*** Statements, continued ***/

static void lite_rows_free(struct store__rows *rows)
{
    struct lite_rows *r = rows_of(rows);

    if (!r)
        return;
    if (r->cached) {
        /* Ends its read transaction; the error of a failed step was reported by lite_next. */
        (void)sqlite3_reset(r->st);
        (void)sqlite3_clear_bindings(r->st);
        r->cached->in_use = false;
    } else {
        (void)sqlite3_finalize(r->st);
    }
    free(r);
}

/* A statement for @text (taken): a cached one, or a new one, kept when there is room. */
static int prepare(struct lite_store *l, char *text, struct lite_rows *r)
{
    _cleanup_free_ char *owned = text;
    struct cached_stmt *e = cache_find(l, text);
    int rc;

    if (e) {
        r->st = e->st;
        r->cached = e;
        return SQLITE_OK;
    }
    rc = sqlite3_prepare_v2(l->db, text, -1, &r->st, NULL);
    if (rc == SQLITE_OK && strlen(text) <= STMT_CACHE_MAX_TEXT &&
        (r->cached = cache_add(l, text, r->st)))
        owned = NULL;
    return rc;
}

static int lite_query(struct store__conn *c, const char *sql, const struct store__arg *args,
                      size_t n, struct store__rows **ret)
{
    sqlite3 *db = lite(c)->db;
    char *text = NULL;
    struct lite_rows *r;
    int rc;

    rc = translate(sql, &text);
    if (rc < 0)
        return rc;
    r = calloc(1, sizeof(*r));
    if (!r) {
        free(text);
        return -ENOMEM;
    }
    r->base.c = c;
    rc = prepare(lite(c), text, r);
    for (size_t i = 0; rc == SQLITE_OK && i < n; i++)
        rc = bind(r->st, (int)i + 1, &args[i]);
    if (rc != SQLITE_OK) {
        rc = fail(db, sqlite3_extended_errcode(db));
        lite_rows_free(&r->base);
        return rc;
    }
    *ret = &r->base;
    return 0;
}

static int lite_next(struct store__rows *rows)
{
    struct lite_rows *r = rows_of(rows);
    sqlite3 *db = lite(rows->c)->db;
    int rc = sqlite3_step(r->st);

    if (rc == SQLITE_ROW)
        return 1;
    if (rc != SQLITE_DONE)
        return fail(db, sqlite3_extended_errcode(db));
    r->changes = sqlite3_changes64(db);
    return 0;
}

static bool lite_is_null(struct store__rows *r, int col)
{
    return sqlite3_column_type(rows_of(r)->st, col) == SQLITE_NULL;
}

static int64_t lite_col_int(struct store__rows *r, int col)
{
    return sqlite3_column_int64(rows_of(r)->st, col);
}

static double lite_col_real(struct store__rows *r, int col)
{
    return sqlite3_column_double(rows_of(r)->st, col);
}

static const char *lite_col_text(struct store__rows *r, int col, size_t *ret_len)
{
    /* The bytes as stored, never trusted to be valid UTF-8. */
    const char *p = sqlite3_column_blob(rows_of(r)->st, col);

    *ret_len = (size_t)sqlite3_column_bytes(rows_of(r)->st, col);
    return p ? p : "";
}

static const char *lite_col_name(struct store__rows *r, int col)
{
    return sqlite3_column_name(rows_of(r)->st, col);
}

static int64_t lite_changes(struct store__rows *r)
{
    return rows_of(r)->changes;
}

/*** Opening ***/

/* Connection settings: see the top of this file for why WAL and synchronous=NORMAL. */
static int configure(struct lite_store *l)
{
    int r;

    (void)sqlite3_extended_result_codes(l->db, 1);
    if (sqlite3_busy_timeout(l->db, 5000) != SQLITE_OK)
        return fail(l->db, sqlite3_errcode(l->db));
    r = lite_exec(&l->conn, "PRAGMA journal_mode = WAL");
    if (r >= 0)
        r = lite_exec(&l->conn, "PRAGMA synchronous = NORMAL");
    if (r >= 0)
        r = lite_exec(&l->conn, "PRAGMA foreign_keys = ON");
    return r;
}

static void lite_close(struct store *s)
{
    struct lite_store *l = (struct lite_store *)s;

    /* Every other statement is finalised by the call that made it, so close cannot be
     * refused. */
    cache_clear(l);
    (void)sqlite3_close(l->db);
    (void)pthread_mutex_destroy(&l->lock);
    free(l);
}

static const struct store__ops lite_ops = {
        .dialect = STORE__SQLITE,
        /* IMMEDIATE takes the write lock now: two processes migrate one after the other. */
        .begin_migration = "BEGIN IMMEDIATE",
        .get_version = "PRAGMA user_version",
        .set_version = "PRAGMA user_version = ",
        .acquire = lite_acquire,
        .release = lite_release,
        .exec = lite_exec,
        .query = lite_query,
        .next = lite_next,
        .is_null = lite_is_null,
        .col_int = lite_col_int,
        .col_real = lite_col_real,
        .col_text = lite_col_text,
        .col_name = lite_col_name,
        .changes = lite_changes,
        .rows_free = lite_rows_free,
        .close = lite_close,
};

/* The connection to @path, configured, into @l->db. */
static int lite_connect(struct lite_store *l, const char *path, char *err, size_t errlen)
{
    int rc, r;

    /* Our own mutex serialises every use, so SQLite's per-connection one is not needed. */
    rc = sqlite3_open_v2(path, &l->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        (void)snprintf(err, errlen, "cannot open '%s': %s", path,
                       l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
        return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
    }
    r = configure(l);
    if (r < 0)
        (void)snprintf(err, errlen, "'%s': %s", path, store_error());
    return r;
}

int store__sqlite_open(const char *dir, struct store **ret, char *err, size_t errlen)
{
    char path[4096];
    struct lite_store *l;
    int r;

    r = mkdir_private(dir);
    if (r < 0) {
        (void)snprintf(err, errlen, "cannot create '%s': %s", dir, strerror(-r));
        return r;
    }
    r = path_join(path, sizeof(path), dir, "runbox.db");
    if (r < 0) {
        (void)snprintf(err, errlen, "path too long: '%s'", dir);
        return r;
    }
    /* Private whatever the umask: SQLite would make a new database 0644 (less the umask), and
     * makes its -wal and -shm with the database's mode. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0)
        (void)close(fd);
    l = calloc(1, sizeof(*l));
    if (!l) {
        (void)snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    l->base.ops = &lite_ops;
    l->conn.s = &l->base;
    (void)pthread_mutex_init(&l->lock, NULL);
    r = lite_connect(l, path, err, errlen);
    if (r >= 0)
        r = store__migrate(&l->base, err, errlen);
    if (r < 0) {
        lite_close(&l->base);
        return r;
    }
    *ret = &l->base;
    return 0;
}
