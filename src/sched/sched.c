/* The scheduler.
 *
 * Theory of operation: sched_new() makes one sandbox host per worker on the calling thread
 * (the first one also sets up the process-wide private mount namespace, which only a
 * single-threaded process can enter), then starts the worker threads. Submitters push runs on
 * their user's FIFO (all of them bounded by queue_size together, each by user_queue_size); a
 * free worker takes the next run in the users' turns (take(): the user with the fewest runs
 * running and below user_max_running, then the one served least recently), marks it running
 * and calls run_fn with its own host, so each host is only ever used by its thread. A run's
 * cancel_fd is an eventfd that the sandbox polls: sched_cancel() writes it and the box dies at
 * once. Readers (SSE, WebSocket) follow a run through its event log under the run's lock and
 * condition variable; the log's output events are bounded by the config's event_backlog
 * (the server passes its own bound in: the queue knows no HTTP). */
#include "sched/sched.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "common/json.h"
#include "sandbox/sandbox.h"

struct worker {
    struct sched *s;
    pthread_t thread;
    struct sbx_host *host;
    struct sched_run *current; /* under s->lock */
    bool started;
};

/* A user with runs queued or running (forgotten when it has neither). */
struct sched_user {
    int64_t id;
    struct sched_run *head, *tail; /* its queued runs, oldest first */
    unsigned queued, running;
    uint64_t served; /* the turn (sched.turns) its last run started in; 0 = none yet */
};

struct sched {
    struct sched_config cfg;
    pthread_mutex_t lock;
    pthread_cond_t cond;      /* work queued, a capped user's run ended, or stopping */
    struct sched_user *users; /* in no order */
    size_t n_users, cap_users;
    unsigned queued, busy;
    uint64_t seq, turns; /* runs submitted, runs started */
    bool stopping;
    struct worker *workers;
};

/*** Runs ***/

struct sched_run *sched_run_new(int64_t id, int64_t user_id, void *data, void (*free_data)(void *))
{
    struct sched_run *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->cancel_fd < 0) {
        free(r);
        return NULL;
    }
    r->id = id;
    r->user_id = user_id;
    r->data = data;
    r->free_data = free_data;
    r->stdin_fd = -1;
    r->event_backlog = SCHED_EVENT_BACKLOG_DEFAULT;
    r->refs = 1;
    r->queued_us = now_us();
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    return r;
}

struct sched_run *sched_run_ref(struct sched_run *r)
{
    pthread_mutex_lock(&r->lock);
    r->refs++;
    pthread_mutex_unlock(&r->lock);
    return r;
}

struct sched_run *sched_run_unref(struct sched_run *r)
{
    unsigned left;

    if (!r)
        return NULL;
    pthread_mutex_lock(&r->lock);
    left = --r->refs;
    pthread_mutex_unlock(&r->lock);
    if (left)
        return NULL;
    sched_events_free(r->events, r->n_events);
    json_decref(r->result);
    if (r->free_data)
        r->free_data(r->data);
    (void)close(r->cancel_fd);
    if (r->stdin_fd >= 0)
        (void)close(r->stdin_fd);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
    return NULL;
}

static bool is_output(const char *type)
{
    return strcmp(type, "stdout") == 0 || strcmp(type, "stderr") == 0;
}

void sched_run_emit(struct sched_run *r, const char *type, json_t *data)
{
    char *text = json_dumps_fixed(data, JSON_COMPACT);
    size_t len = text ? strlen(text) : 0;

    json_decref(data);
    if (!text)
        return;
    pthread_mutex_lock(&r->lock);
    if (is_output(type) && r->event_bytes + len > r->event_backlog) {
        r->events_dropped = true;
        free(text);
        text = NULL;
    } else if (r->n_events == r->cap_events) {
        size_t cap = r->cap_events ? r->cap_events * 2 : 16;
        struct sched_event *ev = reallocarray(r->events, cap, sizeof(*ev));
        if (ev) {
            r->events = ev;
            r->cap_events = cap;
        }
    }
    bool kept = text && r->n_events < r->cap_events;
    if (kept) {
        struct sched_event *ev = &r->events[r->n_events];
        ev->seq = ++r->n_events;
        snprintf(ev->type, sizeof(ev->type), "%s", type);
        ev->data = text;
        r->event_bytes += len;
        pthread_cond_broadcast(&r->cond);
    } else {
        free(text);
    }
    pthread_mutex_unlock(&r->lock);
    /* The log keeps the text until the run is freed, and the caller holds a reference. */
    if (kept && r->tap)
        r->tap(r->tap_ctx, r, type, text);
}

void sched_run_finish(struct sched_run *r, json_t *result)
{
    /* The result event goes first, so that a reader sees it before "done". */
    sched_run_emit(r, "result", json_incref(result));
    pthread_mutex_lock(&r->lock);
    json_decref(r->result);
    r->result = result;
    r->state = SCHED_DONE;
    r->finished_us = now_us();
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

void sched_events_free(struct sched_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ev[i].data);
    free(ev);
}

int sched_run_events(struct sched_run *r, uint64_t after, int timeout_ms, struct sched_event **ret,
                     size_t *ret_n, bool *ret_done)
{
    struct timespec until;
    struct sched_event *copy = NULL;
    size_t n = 0;
    int err = 0;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&r->lock);
    while (r->n_events <= after && r->state != SCHED_DONE &&
           pthread_cond_timedwait(&r->cond, &r->lock, &until) == 0)
        ;
    if (r->n_events > after) {
        n = r->n_events - after;
        copy = calloc(n, sizeof(*copy));
        for (size_t i = 0; copy && i < n; i++) {
            copy[i] = r->events[after + i];
            if (!(copy[i].data = strdup(r->events[after + i].data))) {
                sched_events_free(copy, i);
                copy = NULL;
            }
        }
        if (!copy) {
            n = 0;
            err = -ENOMEM;
        }
    }
    *ret_done = r->state == SCHED_DONE && after + n >= r->n_events;
    pthread_mutex_unlock(&r->lock);
    *ret = copy;
    *ret_n = n;
    return err;
}

/*** The queue: one FIFO per user, served in turn ***/

/* Under s->lock. The users with runs queued or running; pointers into s->users last until the
 * next user_get() or user_put(). */
static struct sched_user *user_find(struct sched *s, int64_t id)
{
    for (size_t i = 0; i < s->n_users; i++)
        if (s->users[i].id == id)
            return &s->users[i];
    return NULL;
}

/* @id's entry, made if missing; NULL on OOM. */
static struct sched_user *user_get(struct sched *s, int64_t id)
{
    struct sched_user *u = user_find(s, id);

    if (u)
        return u;
    if (s->n_users == s->cap_users) {
        size_t cap = s->cap_users ? s->cap_users * 2 : 8;
        struct sched_user *users = reallocarray(s->users, cap, sizeof(*users));
        if (!users)
            return NULL;
        s->users = users;
        s->cap_users = cap;
    }
    u = &s->users[s->n_users++];
    *u = (struct sched_user){.id = id};
    return u;
}

/* Forget @u when it has nothing queued or running. */
static void user_put(struct sched *s, struct sched_user *u)
{
    if (u->queued || u->running)
        return;
    *u = s->users[--s->n_users];
}

static bool user_may_start(const struct sched *s, const struct sched_user *u)
{
    return u->head && (!s->cfg.user_max_running || u->running < s->cfg.user_max_running);
}

/* Whose turn comes first: fewer runs running, then served less recently, then the older run
 * waiting. */
static bool user_goes_before(const struct sched_user *a, const struct sched_user *b)
{
    if (a->running != b->running)
        return a->running < b->running;
    if (a->served != b->served)
        return a->served < b->served;
    return a->head->seq < b->head->seq;
}

/* The next run to start, out of the queue, counted as running for its user (the queue's
 * reference passes to the caller); NULL when no user may start one. */
static struct sched_run *take(struct sched *s)
{
    struct sched_user *best = NULL;

    for (size_t i = 0; i < s->n_users; i++) {
        struct sched_user *u = &s->users[i];
        if (user_may_start(s, u) && (!best || user_goes_before(u, best)))
            best = u;
    }
    if (!best)
        return NULL;
    struct sched_run *r = best->head;
    best->head = r->next;
    if (!best->head)
        best->tail = NULL;
    r->next = NULL;
    best->queued--;
    best->running++;
    best->served = ++s->turns;
    s->queued--;
    return r;
}

/* A run of user @id stopped running. */
static void user_run_ended(struct sched *s, int64_t id)
{
    struct sched_user *u = user_find(s, id);

    if (!u) /* cannot happen: its running run keeps it */
        return;
    u->running--;
    /* Under a cap, a run of this user that had to wait may start now. */
    if (s->cfg.user_max_running && u->head)
        pthread_cond_broadcast(&s->cond);
    user_put(s, u);
}

/* 1-based estimate of @r's place: the runs of the users ahead of its user's turn in each
 * round, up to the round of @r. Under s->lock; 0 when @r is not queued. */
static unsigned position(struct sched *s, const struct sched_run *r)
{
    struct sched_user *mine = user_find(s, r->user_id);
    unsigned k = 1, pos = 0;
    const struct sched_run *q;

    if (!mine)
        return 0;
    for (q = mine->head; q && q != r; q = q->next)
        k++;
    if (!q)
        return 0;
    for (size_t i = 0; i < s->n_users; i++) {
        const struct sched_user *u = &s->users[i];
        if (u == mine)
            continue;
        pos += u->queued < k - 1 ? u->queued : k - 1;
        if (u->queued >= k && user_goes_before(u, mine))
            pos++;
    }
    return pos + k;
}

int sched_submit(struct sched *s, struct sched_run *r, unsigned flags, unsigned *ret_position)
{
    struct sched_user *u = NULL;
    int err = 0;

    pthread_mutex_lock(&s->lock);
    if (s->stopping)
        err = -ESHUTDOWN;
    else if (s->queued >= s->cfg.queue_size)
        err = -EAGAIN;
    else if (!(u = user_get(s, r->user_id)))
        err = -ENOMEM;
    else if (!(flags & SCHED_SUBMIT_ADMITTED) && s->cfg.user_queue_size &&
             u->queued >= s->cfg.user_queue_size)
        err = -EDQUOT;
    if (err == 0) {
        r->next = NULL;
        r->seq = ++s->seq;
        if (s->cfg.event_backlog) /* 0 only in a scheduler not made by sched_new() */
            r->event_backlog = s->cfg.event_backlog;
        if (u->tail)
            u->tail->next = r;
        else
            u->head = r;
        u->tail = sched_run_ref(r);
        u->queued++;
        s->queued++;
        *ret_position = position(s, r);
        pthread_cond_signal(&s->cond);
    } else if (u) {
        user_put(s, u);
    }
    pthread_mutex_unlock(&s->lock);
    return err;
}

/* Take @r out of the queue; under s->lock. */
static bool unqueue(struct sched *s, struct sched_run *r)
{
    struct sched_user *u = user_find(s, r->user_id);

    for (struct sched_run **p = u ? &u->head : NULL, *prev = NULL; p && *p;
         prev = *p, p = &(*p)->next) {
        if (*p != r)
            continue;
        *p = r->next;
        if (u->tail == r)
            u->tail = prev;
        r->next = NULL;
        u->queued--;
        s->queued--;
        user_put(s, u);
        return true;
    }
    return false;
}

/* The queued run @id, or NULL; under s->lock. */
static struct sched_run *find_queued(struct sched *s, int64_t id)
{
    for (size_t i = 0; i < s->n_users; i++)
        for (struct sched_run *r = s->users[i].head; r; r = r->next)
            if (r->id == id)
                return r;
    return NULL;
}

/* Some queued run, or NULL; under s->lock. */
static struct sched_run *any_queued(struct sched *s)
{
    for (size_t i = 0; i < s->n_users; i++)
        if (s->users[i].head)
            return s->users[i].head;
    return NULL;
}

struct sched_run *sched_find(struct sched *s, int64_t id)
{
    struct sched_run *found;

    pthread_mutex_lock(&s->lock);
    found = find_queued(s, id);
    if (found)
        sched_run_ref(found);
    for (unsigned i = 0; i < s->cfg.workers && !found; i++)
        if (s->workers[i].current && s->workers[i].current->id == id)
            found = sched_run_ref(s->workers[i].current);
    pthread_mutex_unlock(&s->lock);
    return found;
}

unsigned sched_position(struct sched *s, const struct sched_run *r)
{
    pthread_mutex_lock(&s->lock);
    unsigned pos = position(s, r);
    pthread_mutex_unlock(&s->lock);
    return pos;
}

void sched_counts(struct sched *s, unsigned *ret_queued, unsigned *ret_busy, unsigned *ret_workers)
{
    if (!s) {
        *ret_queued = *ret_busy = *ret_workers = 0;
        return;
    }
    pthread_mutex_lock(&s->lock);
    *ret_queued = s->queued;
    *ret_busy = s->busy;
    *ret_workers = s->cfg.workers;
    pthread_mutex_unlock(&s->lock);
}

static void drop(struct sched *s, struct sched_run *r)
{
    pthread_mutex_lock(&r->lock);
    r->cancelled = true;
    pthread_mutex_unlock(&r->lock);
    if (s->cfg.on_dropped)
        s->cfg.on_dropped(s->cfg.ctx, r);
    else
        sched_run_finish(r, json_pack("{s:s}", "status", "cancelled"));
    sched_run_unref(r);
}

static void fire(struct sched_run *r)
{
    uint64_t one = 1;

    pthread_mutex_lock(&r->lock);
    r->cancelled = true;
    pthread_mutex_unlock(&r->lock);
    (void)!write(r->cancel_fd, &one, sizeof(one));
}

int sched_cancel(struct sched *s, int64_t id)
{
    struct sched_run *queued;
    int err = -ENOENT;

    pthread_mutex_lock(&s->lock);
    queued = find_queued(s, id);
    if (queued && unqueue(s, queued))
        err = 0;
    for (unsigned i = 0; i < s->cfg.workers && err; i++)
        if (s->workers[i].current && s->workers[i].current->id == id) {
            fire(s->workers[i].current);
            err = 0;
        }
    pthread_mutex_unlock(&s->lock);
    if (queued)
        drop(s, queued); /* the queue's reference */
    return err;
}

/*** Workers ***/

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct sched *s = w->s;

    for (;;) {
        struct sched_run *r = NULL;

        pthread_mutex_lock(&s->lock);
        while (!s->stopping && !(r = take(s)))
            pthread_cond_wait(&s->cond, &s->lock);
        if (s->stopping) { /* then nothing was taken */
            pthread_mutex_unlock(&s->lock);
            return NULL;
        }
        w->current = r;
        s->busy++;
        pthread_mutex_unlock(&s->lock);

        pthread_mutex_lock(&r->lock);
        r->state = SCHED_RUNNING;
        r->started_us = now_us();
        pthread_mutex_unlock(&r->lock);
        s->cfg.run_fn(s->cfg.ctx, w->host, r);
        pthread_mutex_lock(&r->lock);
        bool done = r->state == SCHED_DONE;
        pthread_mutex_unlock(&r->lock);
        if (!done) /* run_fn must finish it; never leave a reader hanging */
            sched_run_finish(r, json_pack("{s:s}", "status", "internal_error"));

        pthread_mutex_lock(&s->lock);
        w->current = NULL;
        s->busy--;
        user_run_ended(s, r->user_id);
        pthread_mutex_unlock(&s->lock);
        sched_run_unref(r);
    }
}

int sched_new(const struct sched_config *cfg, struct sched **ret, char *err, size_t errlen)
{
    struct sched *s = calloc(1, sizeof(*s));
    int r;

    if (!s)
        return -ENOMEM;
    s->cfg = *cfg;
    if (s->cfg.workers == 0)
        s->cfg.workers = 1;
    if (s->cfg.event_backlog == 0)
        s->cfg.event_backlog = SCHED_EVENT_BACKLOG_DEFAULT;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->workers = calloc(s->cfg.workers, sizeof(*s->workers));
    if (!s->workers) {
        sched_free(s, 0);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < s->cfg.workers; i++) {
        struct worker *w = &s->workers[i];
        w->s = s;
        if ((r = sbx_host_new(cfg->tune_cgroups, &w->host)) < 0) {
            snprintf(err, errlen, "sandbox: %s%s%s", strerror(-r), *sbx_host_error() ? ": " : "",
                     sbx_host_error());
            sched_free(s, 0);
            return r;
        }
        (void)sbx_host_keep_warm(w->host, true);
        if (i == 0 && (r = sbx_host_share(w->host)) < 0) {
            snprintf(err, errlen, "sandbox: private mount namespace: %s", strerror(-r));
            sched_free(s, 0);
            return r;
        }
    }
    for (unsigned i = 0; i < s->cfg.workers; i++) {
        struct worker *w = &s->workers[i];
        if ((r = -pthread_create(&w->thread, NULL, worker_main, w)) < 0) {
            snprintf(err, errlen, "worker thread: %s", strerror(-r));
            sched_free(s, 0);
            return r;
        }
        w->started = true;
    }
    *ret = s;
    return 0;
}

struct sched *sched_free(struct sched *s, unsigned grace_ms)
{
    struct sched_run *r;

    if (!s)
        return NULL;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->cond);
    while ((r = any_queued(s))) {
        (void)unqueue(s, r);
        pthread_mutex_unlock(&s->lock);
        drop(s, r);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    /* Running runs get the grace period, then their boxes are killed. */
    uint64_t until = now_us() + (uint64_t)grace_ms * 1000;
    for (;;) {
        unsigned busy;
        pthread_mutex_lock(&s->lock);
        busy = s->busy;
        if (busy && now_us() >= until)
            for (unsigned i = 0; i < s->cfg.workers; i++)
                if (s->workers[i].current)
                    fire(s->workers[i].current);
        pthread_mutex_unlock(&s->lock);
        if (!busy)
            break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (unsigned i = 0; s->workers && i < s->cfg.workers; i++) {
        if (s->workers[i].started)
            pthread_join(s->workers[i].thread, NULL);
        sbx_host_free(s->workers[i].host);
    }
    free(s->workers);
    free(s->users);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
    return NULL;
}
