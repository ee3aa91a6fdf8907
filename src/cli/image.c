/* The CLI's "image" command: import, build, list and remove the images under <data dir>/images
 * (--data DIR, else $RUNBOX_DATA, else /var/lib/runbox). The work is in src/image/. */
#include "image/image.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/json.h"

struct img_args {
    const char *data_dir;             /* --data DIR */
    const char *name;                 /* --name NAME (import) */
    bool json;                        /* --json */
    char *operands[CLI_SUB_MAX_ARGS]; /* the sub-command and its operands */
    int n_operands;
    /* build only */
    bool build_opts;                   /* one of the options below was given */
    char *packages[CLI_SUB_MAX_ARGS];  /* --packages "a b,c" (given as often as wanted) */
    int n_packages;                    /* the words of every --packages, split in place */
    const char *suite;                 /* --suite S */
    const char *mirror;                /* --mirror URL */
    const char *cache;                 /* --cache DIR */
    const char *env[CLI_SUB_MAX_ARGS]; /* --env KEY=VALUE */
    int n_env;
    bool verbose; /* --verbose: debootstrap's output on stderr */
    bool help;    /* --help: the usage on stdout, exit 0 */
};

/* On stdout for --help (exit 0), else on stderr (a usage error, exit 2). */
static int usage_to(FILE *f)
{
    fputs("usage:\n"
          "  runbox image import [--data DIR] [--name NAME] [--json] FILE.tar\n"
          "  runbox image build [--data DIR] [--packages \"PKG ...\"] [--suite SUITE]\n"
          "                     [--mirror URL] [--env KEY=VALUE]... [--cache DIR] [--verbose]\n"
          "                     [--json] NAME\n"
          "  runbox image ls [--data DIR] [--json]\n"
          "  runbox image rm [--data DIR] NAME\n",
          f);
    return f == stdout ? 0 : 2;
}

static int usage(void)
{
    return usage_to(stderr);
}

/* --packages "a b,c": its words into @u->packages (split in place). */
static int add_packages(char *list, struct img_args *u)
{
    char *save = NULL;

    for (char *w = strtok_r(list, " \t\n,", &save); w; w = strtok_r(NULL, " \t\n,", &save)) {
        if (u->n_packages >= CLI_SUB_MAX_ARGS - 1) {
            fprintf(stderr, "runbox: image build: over %d packages\n", CLI_SUB_MAX_ARGS - 1);
            return -E2BIG;
        }
        u->packages[u->n_packages++] = w;
    }
    return 0;
}

/* One of the options of `image build`; -EINVAL for an option that is not one. */
static int build_option(int c, char *val, struct img_args *u)
{
    u->build_opts = true;
    switch (c) {
    case 'p':
        return add_packages(val, u);
    case 's':
        u->suite = val;
        return 0;
    case 'm':
        u->mirror = val;
        return 0;
    case 'c':
        u->cache = val;
        return 0;
    case 'e':
        if (u->n_env >= CLI_SUB_MAX_ARGS - 1)
            return -E2BIG;
        u->env[u->n_env++] = val;
        return 0;
    case 'v':
        u->verbose = true;
        return 0;
    default:
        return -EINVAL;
    }
}

static int parse(const struct cli_args *a, struct img_args *u)
{
    static const struct option opts[] = {
            {"data", required_argument, NULL, 'd'},
            {"name", required_argument, NULL, 'n'},
            {"json", no_argument, NULL, 'j'},
            {"packages", required_argument, NULL, 'p'},
            {"suite", required_argument, NULL, 's'},
            {"mirror", required_argument, NULL, 'm'},
            {"cache", required_argument, NULL, 'c'},
            {"env", required_argument, NULL, 'e'},
            {"verbose", no_argument, NULL, 'v'},
            {"help", no_argument, NULL, 'h'},
            {0},
    };
    char *argv[CLI_SUB_MAX_ARGS + 2];
    int argc = cli_sub_argv(a, argv), c;

    if (argc < 0)
        return argc;
    *u = (struct img_args){.json = a->json};
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
        switch (c) {
        case 'd':
            u->data_dir = optarg;
            break;
        case 'n':
            u->name = optarg;
            break;
        case 'j':
            u->json = true;
            break;
        case 'h':
            u->help = true;
            break;
        default:
            if (build_option(c, optarg, u) < 0)
                return -EINVAL;
        }
    for (int i = optind; i < argc; i++)
        u->operands[u->n_operands++] = argv[i];
    return 0;
}

/* <data>/images into @buf, created (with <data>) when @create. */
static int images_dir(const struct img_args *u, bool create, char *buf, size_t len)
{
    const char *dir = cli_data_dir(u->data_dir);

    if (path_join(buf, len, dir, "images") < 0) {
        fprintf(stderr, "runbox: --data '%s': too long\n", dir);
        return 1;
    }
    if (create &&
        ((mkdir(dir, 0700) < 0 && errno != EEXIST) || (mkdir(buf, 0755) < 0 && errno != EEXIST))) {
        fprintf(stderr, "runbox: cannot create '%s': %s\n", buf, strerror(errno));
        return 1;
    }
    return 0;
}

static void print_json(json_t *o)
{
    json_dumpf_fixed(o, stdout, isatty(STDOUT_FILENO) ? JSON_INDENT(2) : JSON_COMPACT);
    fputc('\n', stdout);
}

static int cmd_import(const struct img_args *u)
{
    char dir[4096], err[1024];
    json_t *cfg;
    int r;

    if (u->n_operands != 2)
        return usage();
    if (u->name && !image_name_is_valid(u->name)) {
        fprintf(stderr, "runbox: image import: bad --name '%s': 1 to %d of a-z 0-9 . _ -\n",
                u->name, IMAGE_NAME_MAX);
        return 2;
    }
    if ((r = images_dir(u, true, dir, sizeof(dir))) != 0)
        return r;
    /* Ctrl-C ends the import between two entries, and its staging dir is removed. */
    r = image_import(dir, u->operands[1], u->name, sbx_interrupted, &cfg, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "runbox: image import: %s\n", err);
        return 1;
    }
    if (u->json) {
        print_json(cfg);
    } else {
        printf("imported '%s' (%s, %lld layers, %lld bytes)\n",
               json_string_value(json_object_get(cfg, "name")),
               json_is_string(json_object_get(cfg, "id"))
                       ? json_string_value(json_object_get(cfg, "id"))
                       : "no id",
               (long long)json_integer_value(json_object_get(cfg, "layers")),
               (long long)json_integer_value(json_object_get(cfg, "size")));
        if (json_integer_value(json_object_get(cfg, "skipped_special")) ||
            json_integer_value(json_object_get(cfg, "stripped_modes")))
            printf("neutralised: %lld device nodes/FIFOs/sockets skipped, %lld setuid/setgid/"
                   "sticky bits stripped\n",
                   (long long)json_integer_value(json_object_get(cfg, "skipped_special")),
                   (long long)json_integer_value(json_object_get(cfg, "stripped_modes")));
    }
    json_decref(cfg);
    return 0;
}

static int cmd_build(struct img_args *u)
{
    char dir[4096], err[4096];
    struct image_build_spec spec = {
            .suite = u->suite,
            .mirror = u->mirror,
            .packages = (const char *const *)u->packages,
            .env = u->env,
            .cache_dir = u->cache,
    };
    json_t *cfg;
    int r;

    if (u->n_operands != 2)
        return usage();
    /* Not root: image_build says so, after checking the spec; nothing is made here. */
    if ((r = images_dir(u, geteuid() == 0, dir, sizeof(dir))) != 0)
        return r;
    u->packages[u->n_packages] = NULL;
    u->env[u->n_env] = NULL;
    if (!u->json && isatty(STDERR_FILENO))
        fprintf(stderr, "runbox: building '%s' with debootstrap (a minute or so)%s\n",
                u->operands[1], u->verbose ? "" : "; --verbose shows its output");
    /* Ctrl-C kills debootstrap, and its staging dir is removed. */
    r = image_build(dir, u->operands[1], &spec, u->verbose ? stderr : NULL, sbx_interrupted, &cfg,
                    err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "runbox: image build: %s\n", err);
        return r == -EINVAL ? 2 : 1;
    }
    if (u->json) {
        print_json(cfg);
    } else {
        json_t *from = json_object_get(cfg, "built_from");

        printf("built '%s' (Debian %s from %s, %lld bytes)\n",
               json_string_value(json_object_get(cfg, "name")),
               json_string_value(json_object_get(from, "suite")),
               json_string_value(json_object_get(from, "mirror")),
               (long long)json_integer_value(json_object_get(cfg, "size")));
        if (json_integer_value(json_object_get(cfg, "skipped_special")) ||
            json_integer_value(json_object_get(cfg, "stripped_modes")))
            printf("neutralised: %lld device nodes/FIFOs/sockets removed, %lld setuid/setgid/"
                   "sticky bits and file capabilities stripped\n",
                   (long long)json_integer_value(json_object_get(cfg, "skipped_special")),
                   (long long)json_integer_value(json_object_get(cfg, "stripped_modes")));
    }
    json_decref(cfg);
    return 0;
}

static int cmd_ls(const struct img_args *u)
{
    char dir[4096];
    json_t *list, *v;
    size_t i;
    int r;

    if (u->n_operands != 1)
        return usage();
    if ((r = images_dir(u, false, dir, sizeof(dir))) != 0)
        return r;
    r = image_list(dir, &list);
    if (r < 0) {
        fprintf(stderr, "runbox: cannot list '%s': %s\n", dir, strerror(-r));
        return 1;
    }
    if (u->json) {
        print_json(list);
        json_decref(list);
        return 0;
    }
    printf("%-32s %-12s %12s  %s\n", "NAME", "ID", "SIZE", "CREATED");
    json_array_foreach(list, i, v)
    {
        const char *id = json_string_value(json_object_get(v, "id"));
        const char *created = json_string_value(json_object_get(v, "created"));

        printf("%-32s %-12.12s %12lld  %s\n", json_string_value(json_object_get(v, "name")),
               id && strlen(id) > 7 ? id + 7 : "-",
               (long long)json_integer_value(json_object_get(v, "size")),
               created && created[0] ? created : "-");
    }
    json_decref(list);
    return 0;
}

static int cmd_rm(const struct img_args *u)
{
    char dir[4096];
    int r;

    if (u->n_operands != 2)
        return usage();
    if ((r = images_dir(u, false, dir, sizeof(dir))) != 0)
        return r;
    r = image_remove(dir, u->operands[1]);
    if (r == -ENOENT || r == -EINVAL) {
        fprintf(stderr, "runbox: no image '%s' (see 'runbox image ls')\n", u->operands[1]);
        return 1;
    }
    if (r < 0) {
        fprintf(stderr, "runbox: cannot remove '%s': %s\n", u->operands[1], strerror(-r));
        return 1;
    }
    printf("removed image '%s'\n", u->operands[1]);
    return 0;
}

int cli_cmd_image(const struct cli_args *a)
{
    struct img_args u;

    if (parse(a, &u) < 0)
        return usage();
    if (u.help)
        return usage_to(stdout);
    if (u.n_operands < 1)
        return usage();
    if ((u.name && strcmp(u.operands[0], "import") != 0) ||
        (u.build_opts && strcmp(u.operands[0], "build") != 0))
        return usage();
    if (strcmp(u.operands[0], "import") == 0)
        return cmd_import(&u);
    if (strcmp(u.operands[0], "build") == 0)
        return cmd_build(&u);
    if (strcmp(u.operands[0], "ls") == 0)
        return cmd_ls(&u);
    if (strcmp(u.operands[0], "rm") == 0)
        return cmd_rm(&u);
    return usage();
}
