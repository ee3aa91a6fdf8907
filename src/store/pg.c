/* The PostgreSQL backend of the store, through libpq.
 *
 * A store holds a small pool of connections, each used by one thread at a time: a caller takes
 * a free one (waiting on a condition variable while all are busy) and gives it back when its
 * statement is done. Connections are made when first needed. One that broke (the server
 * restarted, the network failed) is reset when it is next taken, so the store works again once
 * the server is back without restarting runbox; until then calls fail fast with -ENOTCONN
 * (connect_timeout), which the server answers with 503. Statements go through PQexecParams()
 * with text parameters of declared types; text must be valid UTF-8 for PostgreSQL, so invalid
 * bytes are replaced by U+FFFD before they are sent, as json_text_lossy() does when SQLite's
 * text is read back. The schema version lives in the table schema_version, and migrations run
 * under a transaction-scoped advisory lock, so that runbox processes starting together against
 * one empty database migrate it once. */
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "store/store-int.h"

/* The type OIDs of the parameters we send (catalog/pg_type_d.h, stable across versions). */
#define INT8OID   20
#define TEXTOID   25
#define FLOAT8OID 701

/* The most parameters of one statement. */
#define MAX_PARAMS 16

struct pg_conn {
    struct store__conn base;
    /* NULL until first used; kept (and reset) when the server goes away. */
    PGconn *pg;
    /* Taken by a thread (under the store's lock). */
    bool busy;
};

struct pg_store {
    struct store base;
    /* The URL as given, for connecting. */
    char *url;
    /* Guards the busy flags; @freed is signalled when a connection is given back. */
    pthread_mutex_t lock;
    pthread_cond_t freed;
    size_t n_conns;
    struct pg_conn *conns;
};

struct pg_rows {
    struct store__rows base;
    PGresult *res;
    /* The current row; -1 before the first. */
    int row;
};

static struct pg_conn *conn_of(struct store__conn *c)
{
    return (struct pg_conn *)c;
}

static struct pg_rows *rows_of(struct store__rows *r)
{
    return (struct pg_rows *)r;
}

/* libpq's message @msg on one line: its line breaks and tabs as spaces, no trailing space. */
static void set_message(const char *prefix, const char *msg)
{
    char line[256];
    size_t n;

    (void)snprintf(line, sizeof(line), "%s", msg && *msg ? msg : "unknown error");
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    n = strlen(line);
    while (n > 0 && line[n - 1] == ' ')
        line[--n] = '\0';
    store__set_error("%s%s", prefix, line);
}

/* The connection is not usable: -ENOTCONN. */
static int unavailable(const char *msg)
{
    set_message("the database is unavailable: ", msg);
    return -ENOTCONN;
}

/* Record why the statement of @c failed (@res may be NULL) and map its SQLSTATE to -errno. */
static int fail(struct pg_conn *c, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : NULL;

    if (!msg || !*msg)
        msg = PQerrorMessage(c->pg);
    /* Class 08: connection exceptions; 57P0x: the server is shutting down or starting. */
    if (PQstatus(c->pg) != CONNECTION_OK ||
        (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)))
        return unavailable(msg);
    set_message("", msg);
    if (!state)
        return -EIO;
    if (strcmp(state, "23505") == 0) /* unique_violation */
        return -EEXIST;
    if (strcmp(state, "23503") == 0) /* foreign_key_violation: the row it refers to is gone */
        return -ENOENT;
    if (strcmp(state, "53200") == 0) /* out_of_memory */
        return -ENOMEM;
    if (strncmp(state, "54", 2) == 0) /* program_limit_exceeded */
        return -E2BIG;
    return -EIO;
}

/*** The pool ***/

/* The server's notices ("relation exists, skipping") are not ours to print. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGconn *connect_url(const char *url)
{
    /* Our defaults come first, so that the URL's own settings override them. */
    static const char *const keys[] = {
            "connect_timeout", "client_encoding", "application_name", "dbname", NULL,
    };
    const char *const values[] = {"3", "UTF8", "runbox", url, NULL};
    PGconn *pg = PQconnectdbParams(keys, values, 1);

    if (pg)
        (void)PQsetNoticeProcessor(pg, ignore_notice, NULL);
    return pg;
}

/* Whether @pg, idle in the pool, still has its server. A connection the server closed while it
 * sat there shows it only once read, hence PQconsumeInput(); and a server that ends it (a restart,
 * pg_terminate_backend()) first sends a FATAL message, then closes: the first read takes the
 * message, and only a second one sees the end of the stream. */
static bool is_alive(PGconn *pg)
{
    for (int i = 0; i < 2; i++)
        if (PQstatus(pg) != CONNECTION_OK || !PQconsumeInput(pg))
            return false;
    return PQstatus(pg) == CONNECTION_OK;
}

/* Make @c usable: connect it the first time, reset it when it broke. */
static int make_ready(struct pg_store *p, struct pg_conn *c)
{
    if (!c->pg)
        c->pg = connect_url(p->url);
    else if (!is_alive(c->pg))
        PQreset(c->pg);
    if (!c->pg)
        return unavailable("out of memory");
    if (PQstatus(c->pg) != CONNECTION_OK)
        return unavailable(PQerrorMessage(c->pg));
    return 0;
}

/* A free connection of @p, preferring one that is connected; NULL when all are busy. */
static struct pg_conn *take_free(struct pg_store *p)
{
    struct pg_conn *found = NULL;

    for (size_t i = 0; i < p->n_conns; i++) {
        struct pg_conn *c = &p->conns[i];

        if (c->busy)
            continue;
        if (!found || (c->pg && PQstatus(c->pg) == CONNECTION_OK && !found->pg))
            found = c;
    }
    if (found)
        found->busy = true;
    return found;
}

static void give_back(struct pg_store *p, struct pg_conn *c)
{
    (void)pthread_mutex_lock(&p->lock);
    c->busy = false;
    (void)pthread_cond_signal(&p->freed);
    (void)pthread_mutex_unlock(&p->lock);
}

static int pg_acquire(struct store *s, struct store__conn **ret)
{
    struct pg_store *p = (struct pg_store *)s;
    struct pg_conn *c;
    int r;

    (void)pthread_mutex_lock(&p->lock);
    while (!(c = take_free(p)))
        (void)pthread_cond_wait(&p->freed, &p->lock);
    (void)pthread_mutex_unlock(&p->lock);
    r = make_ready(p, c);
    if (r < 0) {
        give_back(p, c);
        return r;
    }
    *ret = &c->base;
    return 0;
}

static void pg_release(struct store__conn *base)
{
    struct pg_conn *c = conn_of(base);

    /* A transaction left open by a failed call must not leak into the next user's. */
    if (PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        PQclear(PQexec(c->pg, "ROLLBACK"));
    give_back((struct pg_store *)base->s, c);
}

/*** Statements ***/

static int pg_exec(struct store__conn *base, const char *sql)
{
    struct pg_conn *c = conn_of(base);
    PGresult *res = PQexec(c->pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int r = 0;

    if (!res || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK))
        r = fail(c, res);
    PQclear(res);
    return r;
}

static void unref_all(json_t **texts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(texts[i]);
}

/* The text form of parameter @a into @values[i] and its type into @types[i]. Text that is not
 * valid UTF-8 is replaced by a lossy copy, kept alive in @texts[i]. */
static int param(const struct store__arg *a, size_t i, const char **values, Oid *types,
                 char (*nums)[32], json_t **texts)
{
    types[i] = 0; /* unknown: the server infers it */
    values[i] = NULL;
    switch (a->kind) {
    case STORE__ARG_INT:
        types[i] = INT8OID;
        (void)snprintf(nums[i], sizeof(nums[i]), "%lld", (long long)a->i);
        values[i] = nums[i];
        break;
    case STORE__ARG_REAL:
        types[i] = FLOAT8OID;
        (void)snprintf(nums[i], sizeof(nums[i]), "%.17g", a->d);
        values[i] = nums[i];
        break;
    case STORE__ARG_TEXT:
        types[i] = TEXTOID;
        values[i] = a->text;
        if (a->text && !utf8_valid(a->text, strlen(a->text))) {
            texts[i] = json_text_lossy(a->text, strlen(a->text));
            if (!texts[i])
                return -ENOMEM;
            values[i] = json_string_value(texts[i]);
        }
        break;
    case STORE__ARG_NULL:
        break;
    }
    return 0;
}

static int pg_query(struct store__conn *base, const char *sql, const struct store__arg *args,
                    size_t n, struct store__rows **ret)
{
    struct pg_conn *c = conn_of(base);
    const char *values[MAX_PARAMS];
    Oid types[MAX_PARAMS];
    char nums[MAX_PARAMS][32];
    json_t *texts[MAX_PARAMS] = {NULL};
    struct pg_rows *rows;
    PGresult *res;
    ExecStatusType st;
    int r = 0;

    if (n > MAX_PARAMS)
        return -E2BIG;
    for (size_t i = 0; r >= 0 && i < n; i++)
        r = param(&args[i], i, values, types, nums, texts);
    rows = r >= 0 ? calloc(1, sizeof(*rows)) : NULL;
    if (!rows) {
        unref_all(texts, n);
        return r < 0 ? r : -ENOMEM;
    }
    res = PQexecParams(c->pg, sql, (int)n, types, values, NULL, NULL, 0);
    unref_all(texts, n);
    st = PQresultStatus(res);
    if (!res || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)) {
        r = fail(c, res);
        PQclear(res);
        free(rows);
        return r;
    }
    rows->base.c = base;
    rows->res = res;
    rows->row = -1;
    *ret = &rows->base;
    return 0;
}

static int pg_next(struct store__rows *base)
{
    struct pg_rows *r = rows_of(base);

    if (r->row + 1 >= PQntuples(r->res))
        return 0;
    r->row++;
    return 1;
}

static bool pg_is_null(struct store__rows *r, int col)
{
    return PQgetisnull(rows_of(r)->res, rows_of(r)->row, col);
}

static int64_t pg_col_int(struct store__rows *r, int col)
{
    return strtoll(PQgetvalue(rows_of(r)->res, rows_of(r)->row, col), NULL, 10);
}

static double pg_col_real(struct store__rows *r, int col)
{
    return strtod(PQgetvalue(rows_of(r)->res, rows_of(r)->row, col), NULL);
}

static const char *pg_col_text(struct store__rows *r, int col, size_t *ret_len)
{
    *ret_len = (size_t)PQgetlength(rows_of(r)->res, rows_of(r)->row, col);
    return PQgetvalue(rows_of(r)->res, rows_of(r)->row, col);
}

static const char *pg_col_name(struct store__rows *r, int col)
{
    return PQfname(rows_of(r)->res, col);
}

static int64_t pg_changes(struct store__rows *r)
{
    return strtoll(PQcmdTuples(rows_of(r)->res), NULL, 10);
}

static void pg_rows_free(struct store__rows *r)
{
    if (!r)
        return;
    PQclear(rows_of(r)->res);
    free(r);
}

/*** Opening ***/

static void pg_close(struct store *s)
{
    struct pg_store *p = (struct pg_store *)s;

    for (size_t i = 0; p->conns && i < p->n_conns; i++)
        if (p->conns[i].pg)
            PQfinish(p->conns[i].pg);
    free(p->conns);
    free(p->url);
    (void)pthread_cond_destroy(&p->freed);
    (void)pthread_mutex_destroy(&p->lock);
    free(p);
}

/* The key of the advisory lock the migrations take: "runbox" in ASCII. */
#define MIGRATION_LOCK "125780152307576"

static const struct store__ops pg_ops = {
        .dialect = STORE__POSTGRES,
        .begin_migration = "BEGIN; SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ");"
                           " CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
        .get_version = "SELECT coalesce(max(version), 0) FROM schema_version",
        .set_version = "DELETE FROM schema_version; INSERT INTO schema_version (version) SELECT ",
        .acquire = pg_acquire,
        .release = pg_release,
        .exec = pg_exec,
        .query = pg_query,
        .next = pg_next,
        .is_null = pg_is_null,
        .col_int = pg_col_int,
        .col_real = pg_col_real,
        .col_text = pg_col_text,
        .col_name = pg_col_name,
        .changes = pg_changes,
        .rows_free = pg_rows_free,
        .close = pg_close,
};

/* Append @n bytes of @s to @buf (size @len, filled to *@at), cutting what does not fit. */
static void append(char *buf, size_t len, size_t *at, const char *s, size_t n)
{
    if (*at + 1 >= len)
        return;
    if (n > len - 1 - *at)
        n = len - 1 - *at;
    memcpy(buf + *at, s, n);
    *at += n;
    buf[*at] = '\0';
}

void store__mask_url(const char *url, char *buf, size_t len)
{
    const char *auth = strstr(url, "://"), *end, *at = NULL, *colon, *p;
    size_t o = 0;

    if (len == 0)
        return;
    buf[0] = '\0';
    auth = auth ? auth + 3 : url;
    end = auth + strcspn(auth, "/?#");
    for (p = auth; p < end; p++)
        if (*p == '@')
            at = p;
    colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    /* The user part: "user:***@". */
    if (colon) {
        append(buf, len, &o, url, (size_t)(colon + 1 - url));
        append(buf, len, &o, "***", 3);
        p = at;
    } else {
        p = url;
    }
    /* The parameters: "password=***". */
    while (*p) {
        const char *key = strstr(p, "password=");

        if (!key || (key > url && key[-1] != '?' && key[-1] != '&')) {
            append(buf, len, &o, p, key ? (size_t)(key + 9 - p) : strlen(p));
            p = key ? key + 9 : p + strlen(p);
            continue;
        }
        append(buf, len, &o, p, (size_t)(key + 9 - p));
        append(buf, len, &o, "***", 3);
        p = key + 9 + strcspn(key + 9, "&#");
    }
}

int store__pg_open(const char *url, size_t pool_size, struct store **ret, char *err, size_t errlen)
{
    struct store__conn *c = NULL;
    struct pg_store *p;
    char masked[512];
    int r;

    p = calloc(1, sizeof(*p));
    if (!p || pool_size == 0 || !(p->conns = calloc(pool_size, sizeof(*p->conns))) ||
        !(p->url = strdup(url))) {
        (void)snprintf(err, errlen, "out of memory");
        free(p ? p->conns : NULL);
        free(p);
        return -ENOMEM;
    }
    p->base.ops = &pg_ops;
    p->n_conns = pool_size;
    for (size_t i = 0; i < pool_size; i++)
        p->conns[i].base.s = &p->base;
    (void)pthread_mutex_init(&p->lock, NULL);
    (void)pthread_cond_init(&p->freed, NULL);
    /* The first connection now, so that a wrong URL fails here. */
    r = pg_acquire(&p->base, &c);
    if (r < 0) {
        store__mask_url(url, masked, sizeof(masked));
        (void)snprintf(err, errlen, "%s: %s", masked, store_error());
    } else {
        pg_release(c);
        r = store__migrate(&p->base, err, errlen);
    }
    if (r < 0) {
        pg_close(&p->base);
        return r;
    }
    *ret = &p->base;
    return 0;
}
