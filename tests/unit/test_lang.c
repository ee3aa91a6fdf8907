/* Unit tests of src/lang: the language-file parser (data-driven cases in tests/data/lang),
 * template expansion and lookup. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lang/lang.h"

#ifndef DATA_DIR
#error "DATA_DIR must be defined by the build"
#endif

/* Parse @len bytes placed right before a PROT_NONE guard page, so an over-read faults. */
static int parse_guarded(const char *data, size_t len, struct lang **ret, struct lang_error *err)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), span = (len + page - 1) / page * page + page;
    char *m = mmap(NULL, span + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *guard = m + span, *start = guard - len;
    int r;

    assert_true(m != MAP_FAILED);
    assert_int_equal(mprotect(guard, page, PROT_NONE), 0);
    memcpy(start, data, len);
    r = lang_parse(start, len, "test", ret, err);
    munmap(m, span + page);
    return r;
}

static void run_cases(const char *kind, bool want_ok)
{
    char dir[512];
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(dir, sizeof(dir), "%s/%s", DATA_DIR, kind);
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d))) {
        char path[1024], *data = NULL, *want_err = NULL;
        size_t len = 0;
        struct lang *l = NULL;
        struct lang_error err;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s/input", dir, e->d_name);
        assert_int_equal(read_file(path, 1 << 20, &data, &len), 0);
        int r = parse_guarded(data, len, &l, &err);
        if (want_ok) {
            if (r != 0)
                fail_msg("%s: %s", e->d_name, err.text);
        } else {
            if (r == 0)
                fail_msg("%s: parsed, but must be refused", e->d_name);
            snprintf(path, sizeof(path), "%s/%s/error", dir, e->d_name);
            assert_int_equal(read_file(path, 4096, &want_err, NULL), 0);
            want_err[strcspn(want_err, "\n")] = '\0';
            if (!strstr(err.text, want_err))
                fail_msg("%s: error '%s' does not contain '%s'", e->d_name, err.text, want_err);
            free(want_err);
        }
        lang_free(l);
        free(data);
        n++;
    }
    closedir(d);
    assert_true(n > 0);
}

static void test_lang_parse_accepts_valid_files(void **state)
{
    (void)state;
    run_cases("valid", true);
}

static void test_lang_parse_refuses_invalid_files_with_a_reason(void **state)
{
    (void)state;
    run_cases("invalid", false);
}

static void test_lang_expand_substitutes_placeholders(void **state)
{
    char *tmpl[] = {"javac", "-d", ".", "{sources}", "--main={main}", "{stem}.class", NULL};
    char *src[] = {"Main.java", "Util.java", NULL};
    char **v = lang_expand(tmpl, "Main.java", src);

    (void)state;
    assert_non_null(v);
    assert_int_equal(strv_len(v), 7);
    assert_string_equal(v[3], "Main.java");
    assert_string_equal(v[4], "Util.java");
    assert_string_equal(v[5], "--main=Main.java");
    assert_string_equal(v[6], "Main.class");
    strv_free(v);
}

static void test_lang_expand_vars_repeats_list_placeholders(void **state)
{
    char *tmpl[] = {"run", "{tests}", "{sources}", "{tests}", "{test}", "{exercise}", NULL};
    char *src[] = {"a.py", "b.py", NULL}, *tests[] = {"t1.py", "t2.py", "t3.py", NULL};
    const struct lang_vars vars = {
            .main = "a.py", .sources = src, .tests = tests, .exercise = "ex"};
    char **v = lang_expand_vars(tmpl, &vars);

    (void)state;
    assert_non_null(v);
    assert_int_equal(strv_len(v), 1 + 3 + 2 + 3 + 1 + 1);
    assert_string_equal(v[4], "a.py");
    assert_string_equal(v[8], "t3.py");
    assert_string_equal(v[9], "t1.py");
    assert_string_equal(v[10], "ex");
    strv_free(v);
}

static void test_lang_browser_of_the_shipped_languages(void **state)
{
    struct lang_set set;
    struct lang_error err;
    const struct lang *c, *py, *go;

    (void)state;
    assert_int_equal(lang_load_dir(LANG_DIR, &set, &err), 0);
    assert_non_null(c = lang_find(&set, "c"));
    assert_non_null(c->browser);
    assert_string_equal(c->browser->runtime, "wasi");
    assert_string_equal(c->browser->output, "main.wasm");
    assert_non_null(c->browser->compile);
    assert_non_null(py = lang_find(&set, "python"));
    assert_string_equal(py->browser->runtime, "pyodide");
    assert_null(py->browser->compile);
    assert_non_null(go = lang_find(&set, "go"));
    assert_string_equal(go->browser->runtime, "go-js");
    assert_non_null(go->browser->env);
    assert_null(lang_find(&set, "java")->browser);
    json_t *j = lang_browser_to_json(py);
    assert_string_equal(json_string_value(json_object_get(j, "runtime")), "pyodide");
    assert_true(json_is_false(json_object_get(j, "compiled")));
    json_decref(j);
    j = lang_browser_to_json(lang_find(&set, "java"));
    assert_true(json_is_null(j));
    json_decref(j);
    lang_set_done(&set);
}

static void test_lang_load_dir_finds_languages_by_name_alias_and_extension(void **state)
{
    struct lang_set set;
    struct lang_error err;

    (void)state;
    assert_int_equal(lang_load_dir(LANG_DIR, &set, &err), 0);
    assert_true(set.n >= 9);
    assert_non_null(lang_find(&set, "python"));
    assert_ptr_equal(lang_find(&set, "py"), lang_find(&set, "python"));
    assert_ptr_equal(lang_for_file(&set, "dir/x.rs"), lang_find(&set, "rust"));
    assert_null(lang_for_file(&set, "README"));
    assert_null(lang_find(&set, "no-such-language"));
    /* The compiled languages of issue 23: names, aliases, extensions. */
    assert_ptr_equal(lang_find(&set, "nasm"), lang_find(&set, "assembly"));
    assert_ptr_equal(lang_find(&set, "standardml"), lang_find(&set, "sml"));
    assert_ptr_equal(lang_for_file(&set, "main.f90"), lang_find(&set, "fortran"));
    assert_ptr_equal(lang_for_file(&set, "main.adb"), lang_find(&set, "ada"));
    assert_ptr_equal(lang_for_file(&set, "prog.cob"), lang_find(&set, "cobol"));
    /* ".m" is Objective-C's and Octave's: the file alone names neither. */
    char who[128];
    assert_null(lang_for_file(&set, "dir/x.m"));
    assert_int_equal(lang_file_claimants(&set, "dir/x.m", who, sizeof(who)), 2);
    assert_string_equal(who, "objective-c and octave");
    assert_int_equal(lang_file_claimants(&set, "x.rs", who, sizeof(who)), 1);
    assert_int_equal(lang_file_claimants(&set, "README", who, sizeof(who)), 0);
    /* Judge0's ids of the shipped languages: every CE id of a compiler version runbox has,
     * with Judge0's names, file names and flags. */
    const struct lang_judge0_id *e = NULL;
    assert_ptr_equal(lang_find_judge0(&set, 71, &e), lang_find(&set, "python"));
    assert_string_equal(e->name, "Python (3.8.1)");
    assert_false(e->extra);
    assert_string_equal(lang_find(&set, "python")->judge0->source_file, "script.py");
    for (unsigned id = 52; id <= 54; id++)
        assert_ptr_equal(lang_find_judge0(&set, id, NULL), lang_find(&set, "cpp"));
    for (unsigned id = 48; id <= 50; id++)
        assert_ptr_equal(lang_find_judge0(&set, id, NULL), lang_find(&set, "c"));
    assert_string_equal(lang_find(&set, "c")->judge0->compile_args[0], "-O0");
    assert_ptr_equal(lang_find_judge0(&set, 46, NULL), lang_find(&set, "bash"));
    assert_ptr_equal(lang_find_judge0(&set, 45, NULL), lang_find(&set, "assembly"));
    assert_ptr_equal(lang_find_judge0(&set, 61, NULL), lang_find(&set, "haskell"));
    assert_ptr_equal(lang_find_judge0(&set, 77, NULL), lang_find(&set, "cobol"));
    assert_ptr_equal(lang_find_judge0(&set, 10, &e), lang_find(&set, "python"));
    assert_true(e->extra);
    assert_null(lang_find_judge0(&set, 0, NULL));
    assert_null(lang_find_judge0(&set, 9999, NULL));
    /* Piston's names, as its packages declare them. */
    assert_ptr_equal(lang_find_piston(&set, "c++"), lang_find(&set, "cpp"));
    assert_ptr_equal(lang_find_piston(&set, "py3"), lang_find(&set, "python"));
    assert_ptr_equal(lang_find_piston(&set, "node-js"), lang_find(&set, "javascript"));
    assert_ptr_equal(lang_find_piston(&set, "node-ts"), lang_find(&set, "typescript"));
    assert_null(lang_find_piston(&set, "openjdk")); /* runbox's alias, not Piston's */
    assert_ptr_equal(lang_find_piston(&set, "nasm64"), lang_find(&set, "assembly"));
    assert_ptr_equal(lang_find_piston(&set, "f90"), lang_find(&set, "fortran"));
    lang_set_done(&set);
}

/* Load a directory of two languages, a.json and b.json, named "a" and "b" (extension .a, .b),
 * each with @extra[i] (a "key": value pair) added: the load's result, its error in @err. */
static int load_pair(const char *const extra[2], struct lang_error *err)
{
    char dir[] = "/tmp/runbox-test-lang.XXXXXX", path[512];
    struct lang_set set;
    int r;

    assert_non_null(mkdtemp(dir));
    for (size_t i = 0; i < 2; i++) {
        char name[2] = {(char)('a' + i), 0};
        snprintf(path, sizeof(path), "%s/%s.json", dir, name);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f,
                "{\"name\": \"%s\", %s, \"extensions\": [\".%s\"], "
                "\"source_file\": \"m.%s\", \"version\": [\"/bin/true\"], \"run\": "
                "[\"cat\"], \"selftest\": {\"files\": {\"m.%s\": \"hi\"}, "
                "\"expected_output\": \"hi\"}}",
                name, extra[i], name, name, name);
        fclose(f);
    }
    if ((r = lang_load_dir(dir, &set, err)) == 0)
        lang_set_done(&set);
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%c.json", dir, (char)('a' + i));
        unlink(path);
    }
    rmdir(dir);
    return r;
}

/* Two files with one Judge0 id: the load fails, naming the id. */
static void test_lang_load_dir_refuses_a_judge0_id_twice(void **state)
{
    static const char *const judge0[] = {
            "\"judge0\": {\"ids\": [{\"id\": 60, \"name\": \"X\"}, {\"id\": 71, \"name\": \"Y\"}]}",
            "\"judge0\": {\"ids\": [{\"id\": 61, \"name\": \"X\"}, {\"id\": 71, \"name\": "
            "\"Y\"}]}"};
    struct lang_error err;

    (void)state;
    assert_int_equal(load_pair(judge0, &err), -EEXIST);
    assert_non_null(strstr(err.text, "judge0 id 71"));
}

/* Two files with one Piston name (one's language, the other's alias): the load fails. */
static void test_lang_load_dir_refuses_a_piston_name_twice(void **state)
{
    static const char *const pistons[] = {
            "\"piston\": {\"language\": \"c++\"}",
            "\"piston\": {\"language\": \"cc\", \"aliases\": [\"c++\"]}"};
    struct lang_error err;

    (void)state;
    assert_int_equal(load_pair(pistons, &err), -EEXIST);
    assert_non_null(strstr(err.text, "piston name 'c++'"));
}

/* Write a one-language file @file in @dir: language @name with extension .@ext. */
static void write_lang(const char *dir, const char *file, const char *name, const char *ext)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"name\": \"%s\", \"aliases\": [\"%s-alias\"], \"extensions\": [\".%s\"], "
            "\"judge0\": {\"ids\": [{\"id\": %d, \"name\": \"%s (1)\"}]}, "
            "\"source_file\": \"m.%s\", \"version\": [\"/bin/true\"], \"run\": [\"cat\"], "
            "\"selftest\": {\"files\": {\"m.%s\": \"hi\"}, \"expected_output\": \"hi\"}}",
            name, name, ext, 1000 + name[0], name, ext, ext);
    fclose(f);
}

/* lang_load_dir_lazy() with an index: the first load parses every file and writes the index;
 * the next one makes stubs from it, and a lookup parses only the language it returns. */
static void test_lang_load_dir_lazy_uses_its_index_and_parses_on_lookup(void **state)
{
    char dir[] = "/tmp/runbox-test-lang.XXXXXX", index[600], path[600];
    struct lang_set set;
    struct lang_error err;
    struct lang *a;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(index, sizeof(index), "%s/index.json.d", dir);
    assert_int_equal(mkdir(index, 0700), 0);
    snprintf(index, sizeof(index), "%s/index.json.d/index.json", dir);
    write_lang(dir, "a.json", "alpha", "aa");
    write_lang(dir, "b.json", "beta", "bb");
    /* Files changed in the last 100 ms are not indexed (they could change again unseen). */
    assert_int_equal(lang_load_dir_lazy(dir, index, &set, &err), 0);
    assert_int_equal(access(index, F_OK), -1);
    lang_set_done(&set);
    usleep(150 * 1000);

    /* No index yet: everything parsed (no stubs), the index written. */
    assert_int_equal(lang_load_dir_lazy(dir, index, &set, &err), 0);
    assert_int_equal(set.n, 2);
    assert_false(set.v[0]->stub || set.v[1]->stub);
    assert_int_equal(access(index, R_OK), 0);
    lang_set_done(&set);

    /* From the index: stubs until looked up, by extension, name or alias. */
    assert_int_equal(lang_load_dir_lazy(dir, index, &set, &err), 0);
    assert_int_equal(set.n, 2);
    assert_true(set.v[0]->stub && set.v[1]->stub);
    a = lang_for_file(&set, "x/main.aa");
    assert_ptr_equal(a, set.v[0]);
    assert_false(a->stub);
    assert_non_null(a->run);
    assert_string_equal(a->run[0], "cat");
    assert_true(set.v[1]->stub);
    assert_ptr_equal(lang_find(&set, "beta-alias"), set.v[1]);
    assert_false(set.v[1]->stub);
    assert_non_null(set.v[1]->selftest_files);
    lang_set_done(&set);

    /* By Judge0 id: the index has the ids, the file its entry (the name). */
    const struct lang_judge0_id *e = NULL;
    assert_int_equal(lang_load_dir_lazy(dir, index, &set, &err), 0);
    assert_true(set.v[1]->stub);
    assert_ptr_equal(lang_find_judge0(&set, 1000 + 'b', &e), set.v[1]);
    assert_false(set.v[1]->stub);
    assert_string_equal(e->name, "beta (1)");
    assert_true(set.v[0]->stub);
    assert_null(lang_find_judge0(&set, 999, NULL));
    lang_set_done(&set);

    /* A changed file makes the index stale: it is not used, and is rewritten. */
    write_lang(dir, "b.json", "beta", "bc");
    usleep(150 * 1000);
    assert_int_equal(lang_load_dir_lazy(dir, index, &set, &err), 0);
    assert_false(set.v[1]->stub);
    assert_ptr_equal(lang_for_file(&set, "m.bc"), set.v[1]);
    assert_null(lang_for_file(&set, "m.bb"));
    lang_set_done(&set);
    /* ... and a file added too. */
    write_lang(dir, "c.json", "gamma", "cc");
    usleep(150 * 1000);
    assert_int_equal(lang_load_dir_lazy(dir, index, &set, &err), 0);
    assert_int_equal(set.n, 3);
    assert_false(set.v[2]->stub);
    lang_set_done(&set);

    /* An index that lies (alpha's file named in beta's entry) cannot make a lookup run another
     * language's file under this name: the parsed name must match, else NULL and why. */
    assert_int_equal(lang_load_dir_lazy(dir, index, &set, &err), 0); /* a fresh index */
    lang_set_done(&set);
    FILE *f = fopen(index, "r");
    assert_non_null(f);
    char text[8192];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    char *at = strstr(text, "\"name\":\"alpha\"");
    assert_non_null(at);
    static const char lie[] = "\"name\":\"betaa\"";
    memcpy(at, lie, sizeof(lie) - 1);
    f = fopen(index, "w");
    assert_non_null(f);
    fwrite(text, 1, n, f);
    fclose(f);
    assert_int_equal(lang_load_dir_lazy(dir, index, &set, &err), 0);
    assert_true(set.v[0]->stub);
    assert_null(lang_find(&set, "betaa"));
    assert_non_null(strstr(set.why, "name changed"));
    lang_set_done(&set);

    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%c.json", dir, "abc"[i]);
        unlink(path);
    }
    unlink(index);
    snprintf(path, sizeof(path), "%s/index.json.d", dir);
    rmdir(path);
    rmdir(dir);
}

/*** Versions: BASE@VARIANT files ***/

/* A language file @name.json in @dir with @extra ("key": value pairs, may be "") and extension .x.
 */
static void write_named(const char *dir, const char *name, const char *extra)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s.json", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"name\": \"%s\", %s%s\"extensions\": [\".x\"], \"source_file\": \"m.x\", "
            "\"version\": [\"/bin/true\"], \"run\": [\"cat\"], \"selftest\": {\"files\": "
            "{\"m.x\": \"hi\"}, \"expected_output\": \"hi\"}}",
            name, extra, *extra ? ", " : "");
    fclose(f);
}

/* Remove @dir and the files @names (NULL-terminated) in it. */
static void remove_dir(const char *dir, const char *const *names)
{
    char path[512];

    for (; *names; names++) {
        snprintf(path, sizeof(path), "%s/%s.json", dir, *names);
        (void)unlink(path);
    }
    (void)rmdir(dir);
}

static void test_lang_name_is_valid_takes_base_at_variant(void **state)
{
    static const char *const good[] = {"python",
                                       "c++",
                                       "python@3.13",
                                       "go@1.19",
                                       "c@clang",
                                       "x_y-z@a.b_c-d",
                                       "p@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    static const char *const bad[] = {"",
                                      "Python",
                                      "py thon",
                                      "python@",
                                      "@3.13",
                                      "python@3/13",
                                      "python@A",
                                      "python@x@y",
                                      "python@3 13",
                                      "py.thon",
                                      "p@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
        if (!lang_name_is_valid(good[i]))
            fail_msg("'%s' refused", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (lang_name_is_valid(bad[i]))
            fail_msg("'%s' accepted", bad[i]);
}

/* A base and its variant: both load, by name; the file's extension and Piston's shared name
 * find the default; the variant's own Judge0 id finds it; base and variant are split. */
static void test_lang_variants_share_piston_names_within_their_base(void **state)
{
    static const char *const names[] = {"p", "p@2", "q", NULL};
    char dir[] = "/tmp/runbox-test-lang.XXXXXX";
    struct lang_set set;
    struct lang_error err;
    struct lang *p, *p2;

    (void)state;
    assert_non_null(mkdtemp(dir));
    write_named(dir, "p",
                "\"packages\": [\"p-bin\"], \"piston\": {\"language\": \"pl\"}, \"judge0\": "
                "{\"ids\": [{\"id\": 1001, \"name\": \"P (1)\"}]}");
    write_named(dir, "p@2",
                "\"aliases\": [\"p2\"], \"piston\": {\"language\": \"pl\", \"aliases\": "
                "[\"pee\"]}, \"judge0\": {\"ids\": [{\"id\": 1002, \"name\": \"P (2)\"}]}");
    write_named(dir, "q", "");
    assert_int_equal(lang_load_dir(dir, &set, &err), 0);
    assert_non_null(p = lang_find(&set, "p"));
    assert_non_null(p2 = lang_find(&set, "p@2"));
    assert_ptr_equal(lang_find(&set, "p2"), p2);
    assert_null(p->base);
    assert_null(p->variant);
    assert_string_equal(lang_base_name(p), "p");
    assert_string_equal(p2->base, "p");
    assert_string_equal(p2->variant, "2");
    assert_string_equal(lang_base_name(p2), "p");
    assert_string_equal(p->packages[0], "p-bin");
    assert_null(p2->packages);
    /* The default first; a name only the variant has finds the variant. */
    assert_ptr_equal(lang_find_piston(&set, "pl"), p);
    assert_ptr_equal(lang_find_piston(&set, "pee"), p2);
    assert_true(lang_has_piston_name(p2, "pl"));
    assert_false(lang_has_piston_name(p, "pee"));
    assert_ptr_equal(lang_find_judge0(&set, 1002, NULL), p2);
    assert_ptr_equal(lang_find_judge0(&set, 1001, NULL), p);
    /* q.json shares the extension and sorts after p@2: the variant never claims a file, the
     * two defaults do, so the file alone names neither. */
    char who[64];
    assert_null(lang_for_file(&set, "m.x"));
    assert_int_equal(lang_file_claimants(&set, "m.x", who, sizeof(who)), 2);
    assert_string_equal(who, "p and q");
    lang_set_done(&set);
    remove_dir(dir, names);
}

/* Load @a and @b ("name": "extra" pairs, @b's name may be NULL) from a fresh dir; the result. */
static int load_two(const char *a, const char *a_extra, const char *b, const char *b_extra,
                    struct lang_error *err)
{
    const char *names[] = {a, b, NULL};
    char dir[] = "/tmp/runbox-test-lang.XXXXXX";
    struct lang_set set;
    int r;

    assert_non_null(mkdtemp(dir));
    write_named(dir, a, a_extra);
    if (b)
        write_named(dir, b, b_extra);
    if ((r = lang_load_dir(dir, &set, err)) == 0)
        lang_set_done(&set);
    remove_dir(dir, names);
    return r;
}

static void test_lang_variant_needs_its_base_and_shares_only_within_it(void **state)
{
    struct lang_error err;

    (void)state;
    /* No p.json: the variant has no default. */
    assert_int_equal(load_two("p@2", "", NULL, NULL, &err), -ENOENT);
    assert_non_null(strstr(err.text, "'p@2' is a variant of 'p'"));
    /* The base named only as another language's alias is no base. */
    assert_int_equal(load_two("q", "\"aliases\": [\"p\"]", "p@2", "", &err), -ENOENT);
    /* Another base's Piston name stays taken. */
    assert_int_equal(load_two("p", "\"piston\": {\"language\": \"pl\"}", "q@2",
                              "\"piston\": {\"language\": \"pl\"}", &err),
                     -EEXIST);
    assert_non_null(strstr(err.text, "piston name 'pl'"));
    assert_int_equal(load_two("p", "\"piston\": {\"language\": \"pl\"}", "pq",
                              "\"piston\": {\"language\": \"x\", \"aliases\": [\"pl\"]}", &err),
                     -EEXIST);
    /* A variant has Judge0 ids of its own, never its base's. */
    assert_int_equal(load_two("p", "\"judge0\": {\"ids\": [{\"id\": 7, \"name\": \"P\"}]}", "p@2",
                              "\"judge0\": {\"ids\": [{\"id\": 7, \"name\": \"P\"}]}", &err),
                     -EEXIST);
    assert_non_null(strstr(err.text, "judge0 id 7"));
    /* A name that does not fit: refused as the file is parsed. */
    assert_int_equal(load_two("p", "", "p@A", "", &err), -EINVAL);
}

/* A lazily loaded set (stubs from the index) knows variants before parsing them. */
static void test_lang_lazy_stubs_know_their_variant(void **state)
{
    static const char *const names[] = {"p", "p@2", NULL};
    char dir[] = "/tmp/runbox-test-lang.XXXXXX", index[600];
    struct lang_set set;
    struct lang_error err;

    (void)state;
    assert_non_null(mkdtemp(dir));
    write_named(dir, "p", "");
    write_named(dir, "p@2", "");
    usleep(150 * 1000);                              /* older than the index's racy window */
    snprintf(index, sizeof(index), "%s.index", dir); /* beside it: not a *.json in it */
    assert_int_equal(lang_load_dir_lazy(dir, index, &set, &err), 0);
    lang_set_done(&set);
    assert_int_equal(lang_load_dir_lazy(dir, index, &set, &err), 0);
    assert_true(set.v[1]->stub);
    assert_string_equal(set.v[1]->variant, "2");
    assert_string_equal(set.v[1]->base, "p");
    assert_ptr_equal(lang_for_file(&set, "m.x"), set.v[0]);
    struct lang *v = lang_find(&set, "p@2");
    assert_non_null(v);
    assert_false(v->stub);
    assert_string_equal(v->variant, "2"); /* still inside its (moved) name */
    assert_string_equal(v->name, "p@2");
    lang_set_done(&set);
    (void)unlink(index);
    remove_dir(dir, names);
}

/* A language on an image is installed only when that image has its programs. */
static void test_lang_on_an_image_is_installed_only_in_it(void **state)
{
    char dir[] = "/tmp/runbox-test-lang.XXXXXX", path[600];
    struct lang_set set;
    struct lang_error err;
    struct lang *l;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    write_named(dir, "p", "\"runner\": {\"type\": \"sandbox\", \"image\": \"runbox-unit-img\"}");
    assert_int_equal(lang_load_dir(dir, &set, &err), 0);
    snprintf(path, sizeof(path), "%s/images", dir);
    assert_int_equal(lang_set_images(&set, path), 0);
    assert_non_null(l = lang_find(&set, "p"));
    assert_null(l->image_root);
    assert_false(lang_is_installed(l)); /* /bin/true is the host's, not the image's */
    /* The image, with /bin/true a symlink that only resolves inside its root. */
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/images/runbox-unit-img/rootfs/usr/bin'", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof(path), "%s/images/runbox-unit-img/rootfs/bin", dir);
    assert_int_equal(symlink("/usr/bin", path), 0);
    snprintf(path, sizeof(path), "%s/images/runbox-unit-img/rootfs/usr/bin/true", dir);
    assert_non_null(f = fopen(path, "w"));
    fclose(f);
    snprintf(path, sizeof(path), "%s/images", dir);
    assert_int_equal(lang_set_images(&set, path), 0);
    assert_non_null(l->image_root);
    assert_false(lang_is_installed(l)); /* not executable, and "cat" is missing */
    snprintf(path, sizeof(path), "%s/images/runbox-unit-img/rootfs/usr/bin/true", dir);
    assert_int_equal(chmod(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/images/runbox-unit-img/rootfs/usr/bin/cat", dir);
    assert_non_null(f = fopen(path, "w"));
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
    assert_true(lang_is_installed(l));
    lang_set_done(&set);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_lang_parse_accepts_valid_files),
            cmocka_unit_test(test_lang_parse_refuses_invalid_files_with_a_reason),
            cmocka_unit_test(test_lang_browser_of_the_shipped_languages),
            cmocka_unit_test(test_lang_expand_substitutes_placeholders),
            cmocka_unit_test(test_lang_expand_vars_repeats_list_placeholders),
            cmocka_unit_test(test_lang_load_dir_finds_languages_by_name_alias_and_extension),
            cmocka_unit_test(test_lang_load_dir_refuses_a_judge0_id_twice),
            cmocka_unit_test(test_lang_load_dir_refuses_a_piston_name_twice),
            cmocka_unit_test(test_lang_load_dir_lazy_uses_its_index_and_parses_on_lookup),
            cmocka_unit_test(test_lang_name_is_valid_takes_base_at_variant),
            cmocka_unit_test(test_lang_variants_share_piston_names_within_their_base),
            cmocka_unit_test(test_lang_variant_needs_its_base_and_shares_only_within_it),
            cmocka_unit_test(test_lang_lazy_stubs_know_their_variant),
            cmocka_unit_test(test_lang_on_an_image_is_installed_only_in_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
