/* The cluster's connections to PostgreSQL: one per thread that needs its own (LISTEN, claims,
 * leases, the event writer) and a small pool for the threads that come and go (HTTP handlers,
 * sandbox workers). A connection that broke is dropped and made again on its next use, so a
 * restarted PostgreSQL costs each thread one failed call. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster/cluster-int.h"

const char *cluster__i64(char *buf, size_t size, int64_t v)
{
    snprintf(buf, size, "%lld", (long long)v);
    return buf;
}

void cluster__close(struct pgc *p)
{
    if (p->conn)
        PQfinish(p->conn);
    p->conn = NULL;
}

static int ensure(struct pgc *p)
{
    if (p->conn && PQstatus(p->conn) == CONNECTION_OK)
        return 0;
    cluster__close(p);
    /* The URL's own settings win over these defaults: a dead server costs seconds, not the
     * operating system's TCP timeout. */
    static const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *values[] = {"3", "runbox-cluster", p->url, NULL};
    p->conn = PQconnectdbParams(keys, values, 1);
    if (p->conn && PQstatus(p->conn) == CONNECTION_OK)
        return 0;
    cluster__close(p);
    return -ENOTCONN;
}

int cluster__query(struct pgc *p, const char *what, const char *sql, int n,
                   const char *const *params, PGresult **ret)
{
    PGresult *res;
    int r;

    *ret = NULL;
    if ((r = ensure(p)) < 0)
        return r;
    /* Without parameters, several commands may go in one string (LISTEN a; LISTEN b). */
    res = n ? PQexecParams(p->conn, sql, n, NULL, params, NULL, NULL, 0) : PQexec(p->conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        *ret = res;
        return 0;
    }
    if (PQstatus(p->conn) != CONNECTION_OK) {
        PQclear(res);
        cluster__close(p);
        return -ENOTCONN;
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    /* 57P01 (admin shutdown) and class 08 (connection exception) mean the server went. */
    if (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)) {
        PQclear(res);
        cluster__close(p);
        return -ENOTCONN;
    }
    fprintf(stderr, "runbox: cluster: %s: %s", what, PQerrorMessage(p->conn));
    PQclear(res);
    return -EIO;
}

struct pgc *cluster__acquire(struct cluster *c)
{
    pthread_mutex_lock(&c->pool_lock);
    for (;;) {
        for (size_t i = 0; i < CLUSTER_POOL; i++)
            if (!c->pool_busy[i]) {
                c->pool_busy[i] = true;
                pthread_mutex_unlock(&c->pool_lock);
                return &c->pool[i];
            }
        pthread_cond_wait(&c->pool_cond, &c->pool_lock);
    }
}

void cluster__release(struct cluster *c, struct pgc *p)
{
    pthread_mutex_lock(&c->pool_lock);
    c->pool_busy[p - c->pool] = false;
    pthread_cond_signal(&c->pool_cond);
    pthread_mutex_unlock(&c->pool_lock);
}

int cluster__pool_query(struct cluster *c, const char *what, const char *sql, int n,
                        const char *const *params, PGresult **ret)
{
    struct pgc *p = cluster__acquire(c);
    int r = cluster__query(p, what, sql, n, params, ret);

    cluster__release(c, p);
    atomic_store(&c->db_up, r != -ENOTCONN);
    return r;
}
