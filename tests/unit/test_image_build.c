/* Unit tests of `runbox image build`'s checks and host defaults (src/image/build.c): Debian
 * package names, suites and mirrors, etc/os-release's codename, and the apt sources (one-line
 * and deb822) as files and as a tree under a root. debootstrap itself is run end to end by
 * tests/integration/17b-image-build.sh. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image-int.h"

/* @s copied to end right before a PROT_NONE guard page (its NUL the last byte), so an
 * over-read faults. Free with unguard(). */
static char *guarded(const char *s, size_t *ret_span)
{
    size_t len = strlen(s) + 1, page = (size_t)sysconf(_SC_PAGESIZE);
    size_t span = (len + page - 1) / page * page + page;
    char *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    assert_true(m != MAP_FAILED);
    assert_int_equal(mprotect(m + span - page, page, PROT_NONE), 0);
    *ret_span = span;
    return memcpy(m + span - page - len, s, len);
}

static void unguard(char *p, size_t span)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    munmap(p + strlen(p) + 1 - (span - page), span);
}

static int sources(const char *text, bool deb822, char *out, size_t len)
{
    size_t span;
    char *g = guarded(text, &span);
    int r = image__parse_apt_sources(g, deb822, out, len);

    unguard(g, span);
    return r;
}

static int os_release(const char *text, char *out, size_t len)
{
    size_t span;
    char *g = guarded(text, &span);
    int r = image__parse_os_release(g, out, len);

    unguard(g, span);
    return r;
}

static void test_package_names_follow_debian_syntax(void **state)
{
    static const char *const good[] = {"jq",  "python3-pandas", "libstdc++6", "g++",
                                       "0ad", "lib32z1",        "node-a.b",   "x2"};
    static const char *const bad[] = {"",         "a",    "foo;rm", "-x",      "Foo",
                                      "foo bar",  "+x",   ".x",     "foo_bar", "foo/bar",
                                      "jq:amd64", "jq\n", "$(id)",  "jq,curl"};
    char long_name[IMAGE__PACKAGE_MAX + 2];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(image_package_is_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(image_package_is_valid(bad[i]));
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_false(image_package_is_valid(long_name));
    long_name[IMAGE__PACKAGE_MAX] = '\0';
    assert_true(image_package_is_valid(long_name));
}

static void test_suites_and_mirrors_are_checked(void **state)
{
    (void)state;
    assert_true(image__suite_is_valid("bookworm"));
    assert_true(image__suite_is_valid("stable"));
    assert_true(image__suite_is_valid("bookworm-backports"));
    assert_false(image__suite_is_valid(""));
    assert_false(image__suite_is_valid("-bookworm"));
    assert_false(image__suite_is_valid("book worm"));
    assert_false(image__suite_is_valid("../x"));
    assert_false(image__suite_is_valid("Bookworm"));

    assert_true(image__mirror_is_valid("http://deb.debian.org/debian"));
    assert_true(image__mirror_is_valid("https://mirror.example/debian/"));
    assert_true(image__mirror_is_valid("file:///srv/mirror"));
    assert_false(image__mirror_is_valid("ftp://deb.debian.org/debian"));
    assert_false(image__mirror_is_valid("http://"));
    assert_false(image__mirror_is_valid("http://a b/debian"));
    assert_false(image__mirror_is_valid("-http://x"));
    assert_false(image__mirror_is_valid("file://relative"));
    assert_false(image__mirror_is_valid("http://x/\x7f"));
}

static void test_os_release_gives_the_codename_quoted_or_not(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(os_release("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian\"\n"
                                "VERSION_CODENAME=bookworm\nID=debian\n",
                                out, sizeof(out)),
                     0);
    assert_string_equal(out, "bookworm");
    assert_int_equal(os_release("VERSION_CODENAME=\"trixie\"", out, sizeof(out)), 0);
    assert_string_equal(out, "trixie");
    assert_int_equal(os_release("  VERSION_CODENAME='sid'\r\n", out, sizeof(out)), 0);
    assert_string_equal(out, "sid");
    assert_int_equal(os_release("ID=alpine\nVERSION_ID=3.19\n", out, sizeof(out)), -ENOENT);
    assert_int_equal(os_release("VERSION_CODENAME=\n", out, sizeof(out)), -ENOENT);
    assert_int_equal(os_release("VERSION_CODENAME=bookworm;rm\n", out, sizeof(out)), -ENOENT);
    assert_int_equal(os_release("VERSION_CODENAME=bookworm", out, 4), -ENOENT);
    assert_int_equal(os_release("", out, sizeof(out)), -ENOENT);
}

static void test_one_line_sources_give_the_first_http_deb_uri(void **state)
{
    char out[IMAGE__MIRROR_MAX + 1];

    (void)state;
    assert_int_equal(sources("# deb http://commented.example/debian bookworm main\n"
                             "deb-src http://src.example/debian bookworm main\n"
                             "deb cdrom:[Debian 12]/ bookworm main\n"
                             "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] "
                             "http://mirror.example/debian bookworm main\n"
                             "deb http://second.example/debian bookworm main\n",
                             false, out, sizeof(out)),
                     0);
    assert_string_equal(out, "http://mirror.example/debian");
    assert_int_equal(
            sources("\tdeb  https://tabs.example/debian/  bookworm main", false, out, sizeof(out)),
            0);
    assert_string_equal(out, "https://tabs.example/debian/");
    assert_int_equal(
            sources("deb [unclosed http://x/debian bookworm main\n", false, out, sizeof(out)),
            -ENOENT);
    assert_int_equal(sources("deb file:///srv/local bookworm main\ndeb\n", false, out, sizeof(out)),
                     -ENOENT);
    assert_int_equal(sources("", false, out, sizeof(out)), -ENOENT);
    assert_int_equal(sources("deb http://long.example/debian bookworm main", false, out, 10),
                     -ENAMETOOLONG);
}

static void test_deb822_sources_skip_disabled_and_source_only_stanzas(void **state)
{
    char out[IMAGE__MIRROR_MAX + 1];

    (void)state;
    assert_int_equal(sources("Types: deb\n"
                             "URIs: http://disabled.example/debian\n"
                             "Suites: bookworm\n"
                             "Enabled: no\n"
                             "\n"
                             "# a comment between stanzas\n"
                             "Types: deb-src\n"
                             "URIs: http://src.example/debian\n"
                             "\n"
                             "types: deb deb-src\n"
                             "# http://snapshot.debian.org/archive/debian/20250520T000000Z\n"
                             "uris: mirror+file:/etc/apt/mirrors.txt\n"
                             " https://continued.example/debian\n"
                             "Suites: bookworm bookworm-updates\n"
                             "\n"
                             "Types: deb\n"
                             "URIs: http://deb.debian.org/debian-security\n",
                             true, out, sizeof(out)),
                     0);
    assert_string_equal(out, "https://continued.example/debian");
    /* The host's file as Debian 12 writes it; the last stanza has no blank line after it. */
    assert_int_equal(sources("Types: deb\n"
                             "URIs: http://deb.debian.org/debian\n"
                             "Suites: bookworm bookworm-updates\n"
                             "Components: main\n"
                             "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
                             true, out, sizeof(out)),
                     0);
    assert_string_equal(out, "http://deb.debian.org/debian");
    assert_int_equal(sources("URIs: http://no-types.example/debian\n", true, out, sizeof(out)),
                     -ENOENT);
    assert_int_equal(sources("Types: deb\nURIs: cdrom:/x\n\n\n", true, out, sizeof(out)), -ENOENT);
    assert_int_equal(sources("Types: deb\nAVeryLongFieldNameThatIsNotKnownAtAll: x\n"
                             "URIs: http://after-long.example/debian\n",
                             true, out, sizeof(out)),
                     0);
    assert_string_equal(out, "http://after-long.example/debian");
}

/* Write @text into @root/@rel, making its directories. */
static void put(const char *root, const char *rel, const char *text)
{
    char path[1024];
    FILE *f;

    for (const char *p = strchr(rel, '/'); p; p = strchr(p + 1, '/')) {
        snprintf(path, sizeof(path), "%s/%.*s", root, (int)(p - rel), rel);
        (void)mkdir(path, 0755);
    }
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_host_defaults_read_the_root_in_apt_order(void **state)
{
    char root[] = "/tmp/runbox-test-build.XXXXXX", out[IMAGE__MIRROR_MAX + 1], cmd[128];

    (void)state;
    assert_non_null(mkdtemp(root));
    image__host_suite(root, out, sizeof(out));
    assert_string_equal(out, "bookworm");
    image__host_mirror(root, out, sizeof(out));
    assert_string_equal(out, "http://deb.debian.org/debian");

    put(root, "etc/os-release", "ID=debian\nVERSION_CODENAME=trixie\n");
    image__host_suite(root, out, sizeof(out));
    assert_string_equal(out, "trixie");

    put(root, "etc/apt/sources.list.d/a.list.disabled", "deb http://disabled.example/d x main\n");
    put(root, "etc/apt/sources.list.d/c.sources", "Types: deb\nURIs: http://c.example/d\n");
    put(root, "etc/apt/sources.list.d/b.list", "# nothing\n");
    image__host_mirror(root, out, sizeof(out));
    assert_string_equal(out, "http://c.example/d");
    put(root, "etc/apt/sources.list.d/b.list", "deb https://b.example/d x main\n");
    image__host_mirror(root, out, sizeof(out));
    assert_string_equal(out, "https://b.example/d");
    put(root, "etc/apt/sources.list", "deb http://main.example/debian bookworm main\n");
    image__host_mirror(root, out, sizeof(out));
    assert_string_equal(out, "http://main.example/debian");

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_package_names_follow_debian_syntax),
            cmocka_unit_test(test_suites_and_mirrors_are_checked),
            cmocka_unit_test(test_os_release_gives_the_codename_quoted_or_not),
            cmocka_unit_test(test_one_line_sources_give_the_first_http_deb_uri),
            cmocka_unit_test(test_deb822_sources_skip_disabled_and_source_only_stanzas),
            cmocka_unit_test(test_host_defaults_read_the_root_in_apt_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
