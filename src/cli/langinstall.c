/* runbox languages install NAME... | --all: the Debian packages of the languages' toolchains.
 *
 * Theory of operation. One process, run as root (checked first, with --dry-run the only
 * exception). The languages named are resolved against the language files (an unknown name
 * fails the whole command before anything runs). Their toolchains live in two kinds of place:
 *
 *   - the host: one `apt-get install -y --no-install-recommends PKG...` (fork + execvp, never a
 *     shell) for the "packages" of every language that runs on the host, and the "browser"
 *     packages of those whose browser compile runs there; if apt fails, `apt-get update` and
 *     the install once more (a fresh host has no package lists);
 *   - an image (a language's "runner": {"type": "sandbox", "image": NAME}, or its browser
 *     compile's): the image NAME, named after the Debian suite it is built from (trixie), holds
 *     the union of the packages of every language file on it. An image that already has them
 *     (config.json "built_from".packages) is left alone; otherwise it is built anew with them
 *     and its old packages (runbox image build, under NAME.next, with .debs kept in
 *     /var/cache/runbox/debs-SUITE) and only then swapped in for the old one. A language's
 *     "prepare" then runs in runbox's sandbox on the image, its one writable directory the
 *     image's prepare.dir (Go's standard library compiled into a GOCACHE the runs read).
 *
 * Images go to the data dir's images (--data DIR, $RUNBOX_DATA, /var/lib/runbox): the default
 * is where languages look last (lang_set_images), so a server with another data dir finds them
 * too. Languages on the Docker runner are left to their engine, said so. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/json.h"
#include "image/image.h"

#define MAX_PKGS      1024
#define PREPARED_MARK ".runbox-prepared" /* in a prepare dir: its prepare ran to the end */

struct install_args {
    bool all, dry_run, help;
    const char *data_dir;
    char *names[CLI_SUB_MAX_ARGS];
    int n_names;
};

/* A set of package names (borrowed strings), in the order first seen. */
struct pkgs {
    const char *v[MAX_PKGS + 1];
    size_t n;
};

static int pkgs_add(struct pkgs *p, char *const *names)
{
    for (; names && *names; names++) {
        bool have = false;
        for (size_t i = 0; i < p->n && !have; i++)
            have = strcmp(p->v[i], *names) == 0;
        if (have)
            continue;
        if (p->n == MAX_PKGS)
            return -E2BIG;
        p->v[p->n++] = *names;
        p->v[p->n] = NULL;
    }
    return 0;
}

static int usage_to(FILE *f)
{
    fputs("usage: runbox languages install [--dry-run] [--data DIR] NAME... | --all\n"
          "  installs the Debian packages of the languages' toolchains (as root): on the host\n"
          "  with apt-get, or by building the image a language runs on (under DIR/images)\n",
          f);
    return f == stdout ? 0 : 2;
}

static int parse(const struct cli_args *a, struct install_args *u)
{
    static const struct option opts[] = {
            {"all", no_argument, NULL, 'a'},
            {"dry-run", no_argument, NULL, 'n'},
            {"data", required_argument, NULL, 'd'},
            {"help", no_argument, NULL, 'h'},
            {0},
    };
    char *argv[CLI_SUB_MAX_ARGS + 2];
    int argc = cli_sub_argv(a, argv), c;

    if (argc < 0)
        return -E2BIG;
    *u = (struct install_args){0};
    opterr = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
        switch (c) {
        case 'a':
            u->all = true;
            break;
        case 'n':
            u->dry_run = true;
            break;
        case 'd':
            u->data_dir = optarg;
            break;
        case 'h':
            u->help = true;
            break;
        default:
            return -EINVAL;
        }
    /* argv[optind] is "install". */
    for (int i = optind + 1; i < argc; i++)
        u->names[u->n_names++] = argv[i];
    return 0;
}

/* Run @argv (a program found in PATH) with the terminal's stdin/stdout/stderr; its exit status,
 * or -errno when it could not be started. */
static int spawn(const char *const *argv)
{
    pid_t pid = fork();
    int st;

    if (pid < 0)
        return -errno;
    if (pid == 0) {
        (void)setenv("DEBIAN_FRONTEND", "noninteractive", 1);
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "runbox: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void print_argv(const char *const *argv)
{
    for (size_t i = 0; argv[i]; i++)
        printf("%s%s", i ? " " : "", argv[i]);
    putchar('\n');
}

static int apt_install(const struct pkgs *p, bool dry_run)
{
    const char *argv[MAX_PKGS + 8] = {"apt-get", "install", "-y", "--no-install-recommends"};
    const char *const update[] = {"apt-get", "update", NULL};
    size_t n = 4;
    int rc;

    for (size_t i = 0; i < p->n; i++)
        argv[n++] = p->v[i];
    argv[n] = NULL;
    if (dry_run) {
        print_argv(argv);
        return 0;
    }
    fprintf(stderr, "runbox: installing %zu packages on the host with apt-get\n", p->n);
    if ((rc = spawn(argv)) == 0)
        return 0;
    /* A host without package lists, or stale ones: update them and try once more. */
    if (rc > 0 && spawn(update) == 0 && (rc = spawn(argv)) == 0)
        return 0;
    fprintf(stderr, "runbox languages install: apt-get install failed (%s %d)\n",
            rc < 0 ? "error" : "exit status", rc < 0 ? -rc : rc);
    return 1;
}

/* The packages @image's config.json says it was built with (borrowed from @images), or NULL. */
static json_t *built_packages(json_t *images, const char *image)
{
    size_t i;
    json_t *e;

    json_array_foreach(images, i, e)
    {
        if (json_is_string(json_object_get(e, "name")) &&
            strcmp(json_string_value(json_object_get(e, "name")), image) == 0)
            return json_object_get(json_object_get(e, "built_from"), "packages");
    }
    return NULL;
}

static bool json_has_string(json_t *a, const char *s)
{
    size_t i;
    json_t *e;

    json_array_foreach(a, i, e)
    {
        if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
            return true;
    }
    return false;
}

/* Swap the freshly built @next in for @name in @dir (config.json renamed along): the old one
 * is renamed away first and removed last, so runs find one of the two at every moment. */
static int swap_in(const char *dir, const char *next, const char *name)
{
    char from[4096], to[4096], old[4096], oldname[IMAGE_NAME_MAX + 8], cfgpath[4200];
    int r;

    snprintf(oldname, sizeof(oldname), "%s.old", name);
    snprintf(from, sizeof(from), "%s/%s", dir, next);
    snprintf(to, sizeof(to), "%s/%s", dir, name);
    snprintf(old, sizeof(old), "%s/%s", dir, oldname);
    (void)!image_remove(dir, oldname); /* a leftover of an interrupted install */
    if (rename(to, old) < 0 && errno != ENOENT)
        return -errno;
    if (rename(from, to) < 0)
        return -errno;
    r = image_remove(dir, oldname);
    if (r < 0 && r != -ENOENT)
        return r;
    snprintf(cfgpath, sizeof(cfgpath), "%s/config.json", to);
    json_t *cfg = json_load_file_bounded(cfgpath, 0, NULL);
    if (!cfg)
        return -EINVAL;
    (void)json_object_set_new(cfg, "name", json_string(name));
    _cleanup_free_ char *text = json_dumps_fixed(cfg, JSON_INDENT(2));
    json_decref(cfg);
    return text ? write_file_atomic(cfgpath, text, strlen(text), 0644) : -ENOMEM;
}

/* Build (or rebuild) the image @name with @want plus what it had: 0 built, 2 it had them
 * already, 1 failed (said why). */
static int image_install(const char *images_dir, const char *name, struct pkgs *want, bool dry_run)
{
    json_t *images = NULL, *had;
    size_t i;
    json_t *e;
    int rc = 1;

    if (image_list(images_dir, &images) < 0)
        images = json_array();
    had = built_packages(images, name);
    bool missing = !had;
    for (size_t k = 0; k < want->n && !missing; k++)
        missing = !json_has_string(had, want->v[k]);
    if (!missing) {
        printf("image '%s' has its languages' packages already\n", name);
        json_decref(images);
        return 2; /* nothing built */
    }
    json_array_foreach(had, i, e)
    {
        char *one[] = {(char *)json_string_value(e), NULL};
        if (one[0] && image_package_is_valid(one[0]))
            (void)pkgs_add(want, one);
    }
    char next[IMAGE_NAME_MAX + 8], cache[256], err[1024];
    snprintf(next, sizeof(next), "%s.next", name);
    snprintf(cache, sizeof(cache), "/var/cache/runbox/debs-%s", name);
    if (dry_run) {
        printf("runbox image build --suite %s --cache %s --packages \"", name, cache);
        for (size_t k = 0; k < want->n; k++)
            printf("%s%s", k ? " " : "", want->v[k]);
        printf("\" %s (in %s, then renamed %s)\n", next, images_dir, name);
        json_decref(images);
        return 0;
    }
    fprintf(stderr, "runbox: building the image '%s' (Debian %s, %zu packages)\n", name, name,
            want->n);
    (void)mkdir("/var/cache/runbox", 0755);
    (void)mkdir(cache, 0755);
    (void)!image_remove(images_dir, next); /* a leftover of an interrupted install */
    struct image_build_spec spec = {.suite = name, .packages = want->v, .cache_dir = cache};
    json_t *cfg = NULL;
    int r = image_build(images_dir, next, &spec, NULL, sbx_interrupted, &cfg, err, sizeof(err));
    json_decref(cfg);
    if (r < 0)
        fprintf(stderr, "runbox languages install: image '%s': %s\n", name, err);
    else if ((r = swap_in(images_dir, next, name)) < 0)
        fprintf(stderr, "runbox languages install: image '%s': cannot put it in place: %s\n", name,
                strerror(-r));
    else
        rc = 0;
    json_decref(images);
    return rc;
}

/*** Preparing a language on its image ("prepare") ***/

/* @base's KEY=VALUE entries, then @a's and @b's, a later one replacing an earlier of its key.
 * Borrowed strings; free only the array. */
static const char **env_over(const char *const *base, char *const *a, char *const *b)
{
    size_t n = 0, cap = strv_len((char *const *)base) + strv_len(a) + strv_len(b) + 1;
    const char **v = calloc(cap, sizeof(*v));
    char *const *lists[] = {(char *const *)base, a, b};

    for (size_t k = 0; v && k < ARRAY_SIZE(lists); k++)
        for (char *const *e = lists[k]; e && *e; e++) {
            size_t key = strcspn(*e, "=") + 1, i;
            for (i = 0; i < n && strncmp(v[i], *e, key) != 0; i++)
                ;
            v[i] = *e;
            n += i == n;
        }
    return v;
}

/* Run @l's "prepare" on the image whose root is @rootfs: /box is the image's prepare_dir. */
static int prepare(struct cli_env *e, const struct lang *l, const char *rootfs, bool dry_run)
{
    char dir[4096];
    struct sbx_result res;
    int r;

    snprintf(dir, sizeof(dir), "%s%s", rootfs, l->prepare_dir);
    if (dry_run) {
        printf("%s: prepare in the image (%s as /box):", l->name, l->prepare_dir);
        for (char **a = l->prepare_run; *a; a++)
            printf(" %s", *a);
        putchar('\n');
        return 0;
    }
    if (!e->host && cli_env_host(e) != 0)
        return 1;
    /* Its parents are made by root; the directory itself belongs to the box user, who writes
     * it in this one run (every later box sees the image read-only). */
    char *last = strrchr(dir, '/');
    *last = '\0';
    for (char *p = dir + strlen(rootfs) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        (void)mkdir(dir, 0755);
        *p = '/';
    }
    (void)mkdir(dir, 0755);
    r = sbx_workspace_mkdir(dir, last + 1);
    *last = '/';
    if (r < 0) {
        fprintf(stderr, "runbox languages install: %s: cannot make '%s': %s\n", l->name, dir,
                strerror(-r));
        return 1;
    }
    _cleanup_free_ const char **env = env_over(sbx_default_env, l->env, l->prepare_env);
    struct sbx_spec spec = {
            .argv = (const char *const *)l->prepare_run,
            .env = env,
            .workdir = dir,
            .root = rootfs,
            .stdin_fd = -1,
            .on_output = NULL,
            .capture = true,
            .limits = {.cpu_ms = 1800 * 1000,
                       .wall_ms = 3600 * 1000,
                       .memory_bytes = 4ull << 30,
                       .pids = 512,
                       .output_bytes = 1 << 20,
                       .file_bytes = 1ull << 30,
                       .open_files = 1024,
                       .stack_bytes = 8 << 20,
                       .tmp_bytes = 1ull << 30},
    };
    fprintf(stderr, "runbox: preparing %s on its image\n", l->name);
    if (!env || sbx_run(e->host, &spec, &res) < 0) {
        fprintf(stderr, "runbox languages install: %s: cannot run its prepare step\n", l->name);
        return 1;
    }
    r = res.status == SBX_SUCCESS ? 0 : 1;
    /* Done: marked so, by root, where the box could not have written it first (it may have
     * tried: the mark is made anew). */
    char mark[4200];
    snprintf(mark, sizeof(mark), "%s/" PREPARED_MARK, dir);
    (void)unlink(mark);
    if (r == 0 && write_file_atomic(mark, "", 0, 0644) < 0)
        r = 1;
    if (r)
        fprintf(stderr, "runbox languages install: %s: prepare failed: %s\n%.2000s\n", l->name,
                res.message, res.err.data ? res.err.data : "");
    sbx_result_done(&res);
    return r;
}

/* Prepare every language of @e on the image @name in @images_dir that has a "prepare" not
 * marked done in the image (all of them when @rebuilt). */
static int prepare_image(struct cli_env *e, const char *images_dir, const char *name, bool rebuilt,
                         bool dry_run)
{
    char rootfs[4096], dir[4200];
    struct stat st;
    int rc = 0;

    snprintf(rootfs, sizeof(rootfs), "%s/%s/rootfs", images_dir, name);
    for (size_t i = 0; i < e->langs.n; i++) {
        const struct lang *l = e->langs.v[i];
        if (!l->prepare_run || !l->runner.image || strcmp(l->runner.image, name) != 0)
            continue;
        snprintf(dir, sizeof(dir), "%s%s/" PREPARED_MARK, rootfs, l->prepare_dir);
        if (!rebuilt && !dry_run && lstat(dir, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0)
            continue;
        if (prepare(e, l, rootfs, dry_run) != 0)
            rc = 1;
    }
    return rc;
}

/* The images the chosen languages need, each with the packages of every language on it. */
struct image_plan {
    const char *name;
    struct pkgs pkgs;
};

static struct image_plan *plan_for(struct image_plan *plans, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(plans[i].name, name) == 0)
            return &plans[i];
    if (*n == 16)
        return NULL;
    plans[*n] = (struct image_plan){.name = name};
    return &plans[(*n)++];
}

/* Add to @plan every package that any language of @set puts on its image. */
static int image_union(const struct lang_set *set, struct image_plan *plan)
{
    int r = 0;

    for (size_t i = 0; i < set->n && r == 0; i++) {
        const struct lang *l = set->v[i];
        if (l->runner.type == LANG_RUNNER_SANDBOX && l->runner.image &&
            strcmp(l->runner.image, plan->name) == 0)
            r = pkgs_add(&plan->pkgs, l->packages);
        if (r == 0 && l->browser && l->browser->runner &&
            strcmp(l->browser->runner->image, plan->name) == 0)
            r = pkgs_add(&plan->pkgs, l->browser->packages);
    }
    return r;
}

/* Whether @u names @l (or --all). */
static bool chosen(const struct cli_env *e, const struct install_args *u, const struct lang *l)
{
    for (int i = 0; i < u->n_names; i++)
        if (lang_find(&e->langs, u->names[i]) == l)
            return true;
    return u->all;
}

static int plan(const struct cli_env *e, const struct install_args *u, struct pkgs *host,
                struct image_plan *images, size_t *n_images)
{
    for (size_t i = 0; i < e->langs.n; i++) {
        const struct lang *l = e->langs.v[i];
        const struct lang_runner *where[2] = {&l->runner, l->browser ? l->browser->runner : NULL};
        char *const *what[2] = {l->packages, l->browser ? l->browser->packages : NULL};
        if (!chosen(e, u, l))
            continue;
        if (!l->packages)
            printf("%s: its file names no packages\n", l->name);
        for (int k = 0; k < 2; k++) {
            const struct lang_runner *rn = where[k] ? where[k] : &l->runner;
            if (!what[k])
                continue;
            if (rn->type == LANG_RUNNER_DOCKER) {
                printf("%s: runs in Docker (image %s): its engine has the toolchain\n", l->name,
                       rn->image);
            } else if (!rn->image) {
                if (pkgs_add(host, what[k]) < 0)
                    return -E2BIG;
            } else {
                struct image_plan *p = plan_for(images, n_images, rn->image);
                if (!p || image_union(&e->langs, p) < 0)
                    return -E2BIG;
            }
        }
    }
    return 0;
}

int cli_cmd_languages_install(const struct cli_args *a)
{
    struct install_args u;
    struct cli_env e;
    struct pkgs host = {0};
    struct image_plan images[16];
    size_t n_images = 0;
    char dir[4096];
    int rc;

    if (parse(a, &u) < 0)
        return usage_to(stderr);
    if (u.help)
        return usage_to(stdout);
    if (u.all == (u.n_names > 0)) {
        fprintf(stderr, "runbox languages install: name the languages, or --all\n");
        return usage_to(stderr);
    }
    if ((rc = cli_env_init(&e, a, CLI_LANGS_ALL, false)) != 0)
        return rc;
    for (int i = 0; i < u.n_names; i++)
        if (!lang_find(&e.langs, u.names[i])) {
            fprintf(stderr,
                    "runbox languages install: unknown language '%s' (see 'runbox "
                    "languages')\n",
                    u.names[i]);
            cli_env_done(&e);
            return 2;
        }
    if (!u.dry_run && geteuid() != 0) {
        fprintf(stderr, "runbox languages install: needs root (apt-get install, image build): "
                        "run it as root, or see what it would do with --dry-run\n");
        cli_env_done(&e);
        return 1;
    }
    if (plan(&e, &u, &host, images, &n_images) < 0) {
        fprintf(stderr, "runbox languages install: too many packages or images\n");
        cli_env_done(&e);
        return 1;
    }
    rc = 0;
    if (host.n && apt_install(&host, u.dry_run) != 0)
        rc = 1;
    if (path_join(dir, sizeof(dir), cli_data_dir(u.data_dir), "images") < 0) {
        fprintf(stderr, "runbox languages install: --data: too long\n");
        rc = 1;
        n_images = 0;
    }
    if (n_images && !u.dry_run && (mkdir(cli_data_dir(u.data_dir), 0700) < 0 && errno != EEXIST))
        fprintf(stderr, "runbox: cannot create '%s': %s\n", cli_data_dir(u.data_dir),
                strerror(errno));
    if (n_images && !u.dry_run)
        (void)mkdir(dir, 0755);
    for (size_t i = 0; i < n_images; i++) {
        int built = image_install(dir, images[i].name, &images[i].pkgs, u.dry_run);
        if (built == 1 || prepare_image(&e, dir, images[i].name, built == 0, u.dry_run) != 0)
            rc = 1;
    }
    cli_env_done(&e);
    return rc;
}
