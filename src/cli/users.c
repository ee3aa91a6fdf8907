/* The CLI's "user" and "key" commands: manage the service's accounts and API keys straight in
 * its database: the PostgreSQL database of --db URL (a cluster's), else the SQLite one under
 * --data DIR, else that of $RUNBOX_DB, else SQLite under $RUNBOX_DATA or /var/lib/runbox. So a
 * flag beats the environment, and $RUNBOX_DB, which `runbox serve` reads too, beats
 * $RUNBOX_DATA as it does there. Passwords come from the terminal without echo or from stdin,
 * never from argv, where any user of the host could read them in /proc; a URL's password is
 * never printed. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/json.h"
#include "server/auth.h"
#include "server/server.h"
#include "store/store.h"

#define PASSWORD_BUF   1026 /* 1024 bytes, one more to see a longer one, the NUL */
#define DEFAULT_CONFIG "/etc/runbox/config.json"
#define MIB            (UINT64_C(1) << 20)

enum uk_opt {
    UK_ADMIN = 1u << 0,
    UK_PASSWORD_STDIN = 1u << 1,
    UK_NAME = 1u << 2,
    UK_REVOKE_KEYS = 1u << 3,
};

/* The options and operands after "user" or "key". */
struct uk_args {
    const char *data_dir;             /* --data DIR */
    const char *db_url;               /* --db URL */
    const char *key_name;             /* --name NAME */
    const char *config;               /* --config FILE (the global option), for the default quota */
    unsigned given;                   /* enum uk_opt flags seen */
    bool json;                        /* --json (the global option) */
    bool help;                        /* --help: the usage on stdout, exit 0 */
    char *operands[CLI_SUB_MAX_ARGS]; /* the sub-command's operands, after the sub-command's name */
    int n_operands;
};

struct uk_cmd {
    const char *group; /* "user" or "key" */
    const char *name;  /* the sub-command */
    int n_operands;    /* operands it takes */
    unsigned allowed;  /* enum uk_opt flags it accepts */
    int (*fn)(struct store *s, const struct uk_args *u);
    const char *usage;
};

/*** Helpers ***/

static void store_freep(struct store **s)
{
    store_free(*s);
}

static int fail(const char *what, int r)
{
    fprintf(stderr, "runbox: %s: %s\n", what,
            r == -EIO && store_error()[0] ? store_error() : strerror(-r));
    return 1;
}

/* Read one line from @fd into @buf without its line end: 0, -E2BIG when it does not fit, -EINVAL
 * when it holds a NUL, -ENODATA at end of input before any byte, -errno. */
static int read_line(int fd, char *buf, size_t len)
{
    size_t n = 0;

    for (;;) {
        char c;
        ssize_t k = read(fd, &c, 1);

        if (k < 0)
            return -errno;
        if (k == 0 && n == 0)
            return -ENODATA;
        if (k == 0 || c == '\n')
            break;
        if (c == '\0')
            return -EINVAL;
        if (n + 1 >= len)
            return -E2BIG;
        buf[n++] = c;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return 0;
}

/* Prompt with @prompt on the terminal and read a line from it without echo. */
static int read_hidden(const char *prompt, char *buf, size_t len)
{
    struct termios old, quiet;
    int r;

    if (tcgetattr(STDIN_FILENO, &old) < 0)
        return -errno;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    fputs(prompt, stderr);
    fflush(stderr);
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
        return -errno;
    r = read_line(STDIN_FILENO, buf, len);
    (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
    return r;
}

/* The new password for @user into @buf (PASSWORD_BUF bytes): typed twice on a terminal, else
 * the first line of stdin. Prints why on failure (returns 1 then). */
static int read_password(const char *user, bool from_stdin, char *buf)
{
    char again[PASSWORD_BUF], prompt[128];
    int r;

    if (from_stdin || !isatty(STDIN_FILENO)) {
        r = read_line(STDIN_FILENO, buf, PASSWORD_BUF);
    } else {
        snprintf(prompt, sizeof(prompt), "New password for '%s': ", user);
        r = read_hidden(prompt, buf, PASSWORD_BUF);
        if (r == 0 && auth_password_is_valid(buf)) {
            r = read_hidden("Again: ", again, sizeof(again));
            if (r == 0 && strcmp(buf, again) != 0) {
                explicit_bzero(again, sizeof(again));
                fprintf(stderr, "runbox: the passwords differ\n");
                return 1;
            }
            explicit_bzero(again, sizeof(again));
        }
    }
    if (r == -ENODATA) {
        fprintf(stderr, "runbox: no password given on stdin\n");
        return 1;
    }
    if (r < 0 && r != -E2BIG && r != -EINVAL)
        return fail("cannot read the password", r);
    if (r < 0 || !auth_password_is_valid(buf)) {
        fprintf(stderr, "runbox: a password is 8 to 1024 bytes, without NUL\n");
        return 1;
    }
    return 0;
}

/* The user named @name into @ret; prints why not (returns 1 then). */
static int find_user(struct store *s, const char *name, struct store_user *ret)
{
    int r = store_user_by_name(s, name, ret);

    if (r == -ENOENT) {
        fprintf(stderr, "runbox: no user '%s' (see 'runbox user list')\n", name);
        return 1;
    }
    return r < 0 ? fail("cannot read the users", r) : 0;
}

static void format_time(json_t *t, char *buf, size_t len)
{
    time_t when = (time_t)json_integer_value(t);
    struct tm tm;

    if (!json_is_integer(t) || !gmtime_r(&when, &tm))
        snprintf(buf, len, "-");
    else
        strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static void print_json(json_t *o)
{
    json_dumpf_fixed(o, stdout, isatty(STDOUT_FILENO) ? JSON_INDENT(2) : JSON_COMPACT);
    fputc('\n', stdout);
}

/*** Users ***/

static int user_add(struct store *s, const struct uk_args *u)
{
    const char *name = u->operands[0];
    char password[PASSWORD_BUF];
    int64_t id;
    int r;

    if (!auth_name_is_valid(name)) {
        fprintf(stderr, "runbox: bad user name '%s': 1 to 63 of A-Z a-z 0-9 _ . @ -\n", name);
        return 1;
    }
    r = read_password(name, u->given & UK_PASSWORD_STDIN, password);
    if (r)
        return r;
    r = auth_user_add(s, name, password, u->given & UK_ADMIN, &id);
    explicit_bzero(password, sizeof(password));
    if (r == -EEXIST) {
        fprintf(stderr, "runbox: the user '%s' exists already\n", name);
        return 1;
    }
    if (r < 0)
        return fail("cannot add the user", r);
    printf("added %suser '%s' (id %lld)\n", u->given & UK_ADMIN ? "admin " : "", name,
           (long long)id);
    return 0;
}

/* The server's default user quota in MB: the config file's (--config, else the default file
 * when there is one), else the built-in one. Prints why not (returns 2 then). */
static int default_quota_mb(const struct uk_args *u, uint64_t *ret)
{
    const char *path = u->config;
    struct server_config cfg;
    char err[512] = "";
    int r;

    if (!path && access(DEFAULT_CONFIG, R_OK) == 0)
        path = DEFAULT_CONFIG;
    r = server_config_load(path, &cfg, err, sizeof(err));
    *ret = cfg.user_quota_mb;
    server_config_done(&cfg);
    if (r < 0) {
        fprintf(stderr, "runbox: config: %s\n", err);
        return 2;
    }
    return 0;
}

/* @n bytes for people: "512 B", "3.4 MiB". */
static void format_bytes(uint64_t n, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    size_t i = 0;

    while (v >= 1024 && i + 1 < ARRAY_SIZE(units)) {
        v /= 1024;
        i++;
    }
    if (i == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, len, "%.1f %s", v, units[i]);
}

/* Adds "quota_bytes" to @user: its own quota or @default_mb; null when none. */
static void set_quota_bytes(json_t *user, uint64_t default_mb)
{
    json_t *own = json_object_get(user, "quota_mb");
    uint64_t mb = json_is_integer(own) ? (uint64_t)json_integer_value(own) : default_mb;

    (void)json_object_set_new(user, "quota_bytes",
                              mb ? json_integer((json_int_t)(mb * MIB)) : json_null());
}

static void print_user(json_t *v)
{
    char created[32], stored[32], quota[40] = "none";
    json_t *q = json_object_get(v, "quota_bytes");

    format_time(json_object_get(v, "created_at"), created, sizeof(created));
    format_bytes((uint64_t)json_integer_value(json_object_get(v, "stored_bytes")), stored,
                 sizeof(stored));
    if (json_is_integer(q))
        format_bytes((uint64_t)json_integer_value(q), quota, sizeof(quota));
    if (!json_is_null(json_object_get(v, "quota_mb")))
        strcat(quota, " (own)");
    printf("%-6lld %-24s %-5s %6lld %10s %-16s %s\n",
           (long long)json_integer_value(json_object_get(v, "id")),
           json_string_value(json_object_get(v, "name")),
           json_is_true(json_object_get(v, "admin")) ? "yes" : "no",
           (long long)json_integer_value(json_object_get(v, "runs")), stored, quota, created);
}

static int user_list(struct store *s, const struct uk_args *u)
{
    json_t *users, *v;
    uint64_t default_mb;
    size_t i;
    int r = default_quota_mb(u, &default_mb);

    if (r)
        return r;
    r = store_user_list(s, &users);
    if (r < 0)
        return fail("cannot list the users", r);
    json_array_foreach(users, i, v)
    {
        set_quota_bytes(v, default_mb);
    }
    if (u->json) {
        print_json(users);
        json_decref(users);
        return 0;
    }
    printf("%-6s %-24s %-5s %6s %10s %-16s %s\n", "ID", "NAME", "ADMIN", "RUNS", "STORED", "QUOTA",
           "CREATED (UTC)");
    json_array_foreach(users, i, v)
    {
        print_user(v);
    }
    json_decref(users);
    return 0;
}

/* user quota NAME MB|default|none: the user's own quota ("none": unlimited), or back to the
 * server's default. */
static int user_quota(struct store *s, const struct uk_args *u)
{
    const char *arg = u->operands[1];
    struct store_user user;
    uint64_t mb = 0;
    int64_t quota;
    int r;

    if (strcmp(arg, "default") == 0)
        quota = -1;
    else if (strcmp(arg, "none") == 0)
        quota = 0;
    else if (parse_u64(arg, &mb) == 0 && mb > 0 && mb <= (UINT64_C(1) << 40))
        quota = (int64_t)mb;
    else {
        fprintf(stderr, "runbox: user quota: '%s' is not MB (1 to 2^40), default or none\n", arg);
        return 2;
    }
    if ((r = find_user(s, u->operands[0], &user)))
        return r;
    if ((r = store_user_set_quota(s, user.id, quota)) < 0)
        return fail("cannot set the quota", r);
    if (quota < 0)
        printf("'%s' has the server's default quota\n", user.name);
    else if (quota == 0)
        printf("'%s' has no quota\n", user.name);
    else
        printf("'%s' may store %llu MB of runs\n", user.name, (unsigned long long)mb);
    return 0;
}

static int user_del(struct store *s, const struct uk_args *u)
{
    struct store_user user;
    int r = find_user(s, u->operands[0], &user);

    if (r)
        return r;
    r = store_user_delete(s, user.id);
    if (r < 0)
        return fail("cannot delete the user", r);
    printf("deleted user '%s' with their keys, tokens and runs\n", user.name);
    return 0;
}

static int user_passwd(struct store *s, const struct uk_args *u)
{
    struct store_user user;
    char password[PASSWORD_BUF], hash[sizeof(user.pw_hash)];
    int r = find_user(s, u->operands[0], &user);

    if (r)
        return r;
    r = read_password(user.name, u->given & UK_PASSWORD_STDIN, password);
    if (r)
        return r;
    r = auth_hash_password(password, hash, sizeof(hash));
    explicit_bzero(password, sizeof(password));
    if (r == 0)
        r = store_user_set_password(s, user.id, hash);
    if (r < 0)
        return fail("cannot set the password", r);
    /* Every login token goes with the old password (the store does it in the same statement).
     * API keys are credentials of their own, revoked only when asked. */
    printf("changed the password of '%s'; their login tokens are revoked\n", user.name);
    if (u->given & UK_REVOKE_KEYS) {
        int n = 0;

        r = store_key_revoke_all(s, user.id, &n);
        if (r < 0)
            return fail("cannot revoke the API keys", r);
        printf("revoked %d API key%s of '%s'\n", n, n == 1 ? "" : "s", user.name);
    }
    return 0;
}

static int user_logout(struct store *s, const struct uk_args *u)
{
    struct store_user user;
    int n = 0, r = find_user(s, u->operands[0], &user);

    if (r)
        return r;
    r = store_token_revoke_all(s, user.id, &n);
    if (r < 0)
        return fail("cannot revoke the login tokens", r);
    printf("revoked %d login token%s of '%s'\n", n, n == 1 ? "" : "s", user.name);
    return 0;
}

/*** API keys ***/

static int key_add(struct store *s, const struct uk_args *u)
{
    struct store_user user;
    char key[AUTH_SECRET_LEN];
    int64_t id;
    int r = find_user(s, u->operands[0], &user);

    if (r)
        return r;
    r = auth_key_create(s, user.id, u->key_name ? u->key_name : "", key, &id);
    if (r == -EINVAL) {
        fprintf(stderr, "runbox: a key name is at most 128 bytes of UTF-8\n");
        return 1;
    }
    if (r < 0)
        return fail("cannot add the key", r);
    /* The key alone on stdout, for scripts; it cannot be shown again. */
    printf("%s\n", key);
    explicit_bzero(key, sizeof(key));
    fprintf(stderr, "runbox: key %lld for '%s'; it is shown only this once\n", (long long)id,
            user.name);
    return 0;
}

static int key_list(struct store *s, const struct uk_args *u)
{
    json_t *keys, *v;
    size_t i;
    int r = store_key_list(s, 0, &keys);

    if (r < 0)
        return fail("cannot list the keys", r);
    if (u->json) {
        print_json(keys);
        json_decref(keys);
        return 0;
    }
    printf("%-6s %-20s %-20s %-19s  %s\n", "ID", "USER", "NAME", "CREATED (UTC)", "REVOKED");
    json_array_foreach(keys, i, v)
    {
        char created[32], revoked[32];

        format_time(json_object_get(v, "created_at"), created, sizeof(created));
        format_time(json_object_get(v, "revoked_at"), revoked, sizeof(revoked));
        printf("%-6lld %-20s %-20s %-19s  %s\n",
               (long long)json_integer_value(json_object_get(v, "id")),
               json_string_value(json_object_get(v, "user")),
               json_string_value(json_object_get(v, "name")), created, revoked);
    }
    json_decref(keys);
    return 0;
}

static int key_revoke(struct store *s, const struct uk_args *u)
{
    uint64_t id;
    int r;

    if (parse_u64(u->operands[0], &id) < 0 || id == 0 || id > INT64_MAX) {
        fprintf(stderr, "runbox: key revoke: '%s' is not a key id (see 'runbox key list')\n",
                u->operands[0]);
        return 2;
    }
    r = store_key_revoke(s, (int64_t)id);
    if (r == -ENOENT) {
        fprintf(stderr, "runbox: no key %llu\n", (unsigned long long)id);
        return 1;
    }
    if (r < 0)
        return fail("cannot revoke the key", r);
    printf("revoked key %llu\n", (unsigned long long)id);
    return 0;
}

static const struct uk_cmd uk_cmds[] = {
        {"user", "add", 1, UK_ADMIN | UK_PASSWORD_STDIN, user_add,
         "user add NAME [--admin] [--password-stdin]"},
        {"user", "list", 0, 0, user_list, "user list [--json]"},
        {"user", "quota", 2, 0, user_quota, "user quota NAME MB|default|none"},
        {"user", "del", 1, 0, user_del, "user del NAME"},
        {"user", "passwd", 1, UK_PASSWORD_STDIN | UK_REVOKE_KEYS, user_passwd,
         "user passwd NAME [--password-stdin] [--revoke-keys]"},
        {"user", "logout", 1, 0, user_logout, "user logout NAME"},
        {"key", "add", 1, UK_NAME, key_add, "key add USER [--name NAME]"},
        {"key", "list", 0, 0, key_list, "key list [--json]"},
        {"key", "revoke", 1, 0, key_revoke, "key revoke ID"},
};

/*** Parsing and dispatch ***/

/* The group's usage: on stdout for --help (exit 0), else on stderr (a usage error, exit 2). */
static int usage_to(const char *group, FILE *f)
{
    fprintf(f, "usage:\n");
    for (size_t i = 0; i < ARRAY_SIZE(uk_cmds); i++)
        if (strcmp(uk_cmds[i].group, group) == 0)
            fprintf(f, "  runbox %s [--data DIR | --db URL]\n", uk_cmds[i].usage);
    if (strcmp(group, "user") == 0)
        fputs("  runbox users [--json] [--data DIR | --db URL]   each user's runs, stored bytes "
              "and "
              "quota\n",
              f);
    fputs("  --data  the SQLite database's directory (default $RUNBOX_DATA, else /var/lib/runbox)\n"
          "  --db    a PostgreSQL URL (postgresql://user:pass@host/db; default $RUNBOX_DB unless\n"
          "          --data is given): the database that a cluster's `runbox serve --db` nodes\n"
          "          share\n",
          f);
    return f == stdout ? 0 : 2;
}

static int usage(const char *group)
{
    return usage_to(group, stderr);
}

/* The command's own options, from its operands and what follows "--". */
static int parse(const struct cli_args *a, struct uk_args *u)
{
    static const struct option opts[] = {
            {"data", required_argument, NULL, 'd'}, /* the SQLite database's directory */
            {"db", required_argument, NULL, 'b'},   /* a PostgreSQL URL */
            {"admin", no_argument, NULL, 'a'},
            {"password-stdin", no_argument, NULL, 'p'},
            {"name", required_argument, NULL, 'n'},
            {"revoke-keys", no_argument, NULL, 'r'},
            /* Also the global option, which the usage shows after the sub-command. */
            {"json", no_argument, NULL, 'j'},
            {"help", no_argument, NULL, 'h'},
            {0},
    };
    char *argv[CLI_SUB_MAX_ARGS + 2];
    int argc = cli_sub_argv(a, argv), c;

    if (argc < 0)
        return argc;
    *u = (struct uk_args){.json = a->json, .config = a->config};
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
        switch (c) {
        case 'd':
            u->data_dir = optarg;
            break;
        case 'b':
            u->db_url = optarg;
            break;
        case 'a':
            u->given |= UK_ADMIN;
            break;
        case 'p':
            u->given |= UK_PASSWORD_STDIN;
            break;
        case 'n':
            u->given |= UK_NAME;
            u->key_name = optarg;
            break;
        case 'j':
            u->json = true;
            break;
        case 'r':
            u->given |= UK_REVOKE_KEYS;
            break;
        case 'h':
            u->help = true;
            break;
        default:
            return -EINVAL;
        }
    for (int i = optind; i < argc; i++)
        u->operands[u->n_operands++] = argv[i];
    return 0;
}

/* Open the database that @u names (see the top of this file) into *ret; prints why not and
 * returns the exit code then. */
static int open_db(const struct uk_args *u, struct store **ret)
{
    const char *db = u->db_url ? u->db_url : u->data_dir ? NULL : getenv("RUNBOX_DB");
    const char *dir = cli_data_dir(u->data_dir);
    char err[512] = "";
    int r;

    if (db && *db) {
        /* The error names the URL with its password masked. */
        r = store_open_url(db, NULL, ret, err, sizeof(err));
        if (r < 0)
            fprintf(stderr, "runbox: cannot open the database: %s\n", err[0] ? err : strerror(-r));
        return r == -EINVAL ? 2 : r < 0 ? 1 : 0;
    }
    if (cli_private_data_dir("runbox", dir) < 0)
        return 1;
    r = store_open(dir, ret, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "runbox: cannot open the database in '%s': %s\n", dir,
                err[0] ? err : strerror(-r));
        return 1;
    }
    return 0;
}

/* @implied: the sub-command when the command names it ("users" is "user list"), or NULL. */
static int run_group(const char *group, const struct cli_args *a, const char *implied)
{
    _cleanup_(store_freep) struct store *s = NULL;
    struct uk_args u;
    const struct uk_cmd *cmd = NULL;
    int r;

    if (parse(a, &u) < 0)
        return usage(group);
    if (u.help)
        return usage_to(group, stdout);
    if (implied && u.n_operands < CLI_SUB_MAX_ARGS) {
        memmove(u.operands + 1, u.operands, sizeof(u.operands[0]) * (size_t)u.n_operands++);
        u.operands[0] = (char *)implied;
    }
    if (u.n_operands < 1)
        return usage(group);
    for (size_t i = 0; i < ARRAY_SIZE(uk_cmds); i++)
        if (strcmp(uk_cmds[i].group, group) == 0 && strcmp(uk_cmds[i].name, u.operands[0]) == 0)
            cmd = &uk_cmds[i];
    if (!cmd || u.n_operands - 1 != cmd->n_operands || (u.given & ~cmd->allowed))
        return usage(group);
    /* The sub-command sees its own operands only. */
    memmove(u.operands, u.operands + 1, sizeof(u.operands[0]) * (size_t)--u.n_operands);

    r = auth_init();
    if (r < 0)
        return fail("cannot initialise libsodium", r);
    r = open_db(&u, &s);
    if (r)
        return r;
    return cmd->fn(s, &u);
}

int cli_cmd_user(const struct cli_args *a)
{
    return run_group("user", a, NULL);
}

int cli_cmd_users(const struct cli_args *a)
{
    return run_group("user", a, "list");
}

int cli_cmd_key(const struct cli_args *a)
{
    return run_group("key", a, NULL);
}
