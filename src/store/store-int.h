/* Internals shared by the store's files: the statement layer. store.c writes every query once,
 * in PostgreSQL's dialect of placeholders ($1..$n), against this layer; sqlite.c and pg.c each
 * implement it (struct store__ops) for their database.
 *
 * A caller takes a connection with store__acquire(), which it alone uses until store__release()
 * (SQLite: the one connection under the store's mutex; PostgreSQL: one of a pool). A statement
 * runs with store__query() and its rows are read with store__next() and the column getters;
 * store__rows_free() ends it. A connection released inside a transaction is rolled back. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "store/store.h"

/* The two dialects, an index into each migration's texts. */
enum store__dialect {
    STORE__SQLITE,
    STORE__POSTGRES,
    STORE__N_DIALECTS,
};

/* One connection; each backend's own connection struct starts with it. */
struct store__conn {
    struct store *s;
};

/* The rows of one statement; each backend's own rows struct starts with it. */
struct store__rows {
    struct store__conn *c;
    bool owns_conn; /* store__rows_free() releases @c too */
};

enum store__arg_kind {
    STORE__ARG_NULL,
    STORE__ARG_INT,
    STORE__ARG_REAL,
    STORE__ARG_TEXT, /* NUL-terminated; a NULL pointer binds SQL NULL */
};

/* One bound parameter. */
struct store__arg {
    enum store__arg_kind kind;
    int64_t i;
    double d;
    const char *text;
};

#define ARG_INT(v)  ((struct store__arg){.kind = STORE__ARG_INT, .i = (v)})
#define ARG_REAL(v) ((struct store__arg){.kind = STORE__ARG_REAL, .d = (v)})
#define ARG_TEXT(v) ((struct store__arg){.kind = STORE__ARG_TEXT, .text = (v)})
#define ARG_NULL    ((struct store__arg){.kind = STORE__ARG_NULL})

/* "@args, n" for a statement's parameters, in order ($1, $2, ...). */
#define ARGS(...)                               \
    ((const struct store__arg[]){__VA_ARGS__}), \
            (sizeof((const struct store__arg[]){__VA_ARGS__}) / sizeof(struct store__arg))
#define NO_ARGS NULL, 0

/* A backend. Functions return 0 or -errno and record the reason with store__set_error(). */
struct store__ops {
    enum store__dialect dialect;
    /* Starts a migration's transaction, holding off every other migrating process. */
    const char *begin_migration;
    /* One row, one column: the schema version. */
    const char *get_version;
    /* Sets the schema version to the number that follows. */
    const char *set_version;

    int (*acquire)(struct store *s, struct store__conn **ret);
    void (*release)(struct store__conn *c);
    /* Runs @sql, one or more statements without parameters or rows. */
    int (*exec)(struct store__conn *c, const char *sql);
    /* Runs (PostgreSQL) or prepares (SQLite) one statement with @n parameters. */
    int (*query)(struct store__conn *c, const char *sql, const struct store__arg *args, size_t n,
                 struct store__rows **ret);
    /* 1 with the next row ready, 0 at the end, or -errno. */
    int (*next)(struct store__rows *r);
    bool (*is_null)(struct store__rows *r, int col);
    int64_t (*col_int)(struct store__rows *r, int col);
    double (*col_real)(struct store__rows *r, int col);
    /* The bytes of a text column (not NUL-free, not UTF-8 checked), valid until the next row. */
    const char *(*col_text)(struct store__rows *r, int col, size_t *ret_len);
    const char *(*col_name)(struct store__rows *r, int col);
    /* Rows changed by the statement, once store__next() returned 0. */
    int64_t (*changes)(struct store__rows *r);
    void (*rows_free)(struct store__rows *r);
    void (*close)(struct store *s);
};

/* The part of a store every backend shares; each backend's store struct starts with it. */
struct store {
    const struct store__ops *ops;
    /* The schema version once the migrations ran. */
    int schema_version;
};

/* Record the message of the thread's last error, for store_error(). */
void store__set_error(const char *fmt, ...) _printf_(1, 2);

/* Migrate the freshly opened @s to the newest schema. On failure @err says why. */
int store__migrate(struct store *s, char *err, size_t errlen) _warn_unused_;

/* @url with the password of its user part and any "password=" parameter replaced by "***". */
void store__mask_url(const char *url, char *buf, size_t len);

/* The backends' constructors, for store_open_url(). @pool_size: connections at most. */
int store__sqlite_open(const char *dir, struct store **ret, char *err, size_t errlen) _warn_unused_;
int store__pg_open(const char *url, size_t pool_size, struct store **ret, char *err,
                   size_t errlen) _warn_unused_;
