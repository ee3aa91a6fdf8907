/* Unit tests of src/image's parsers: docker save's manifest.json, OCI index.json and manifest,
 * the image config, and image names; image_open() on hand-made image dirs, and image_env().
 * Archives themselves are tested end to end by tests/integration/17-images.sh. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "image/image-int.h"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static int docker(const char *json, struct image__plan *p, char *err, size_t len)
{
    return image__parse_docker_manifest(json, strlen(json), p, err, len);
}

static void test_docker_manifest_gives_members_digests_and_tag(void **state)
{
    struct image__plan p = {0};
    char err[256] = "";

    (void)state;
    assert_int_equal(docker("[{\"Config\": \"" HEX_A ".json\", \"RepoTags\": [\"x/y:1\"],"
                            " \"Layers\": [\"l1/layer.tar\", \"blobs/sha256/" HEX_B "\"]}]",
                            &p, err, sizeof(err)),
                     0);
    assert_string_equal(p.config, HEX_A ".json");
    assert_string_equal(p.config_digest, HEX_A);
    assert_int_equal(p.n_layers, 2);
    assert_string_equal(p.layers[0], "l1/layer.tar");
    assert_string_equal(p.layer_digests[0], "");
    assert_string_equal(p.layer_digests[1], HEX_B);
    assert_string_equal(p.ref, "x/y:1");
    image__plan_done(&p);
}

static void test_docker_manifest_refuses_escaping_members_and_many_images(void **state)
{
    struct image__plan p = {0};
    char err[256] = "";

    (void)state;
    assert_int_equal(
            docker("[{\"Config\": \"../c.json\", \"Layers\": [\"a\"]}]", &p, err, sizeof(err)),
            -EINVAL);
    assert_non_null(strstr(err, "Config"));
    assert_int_equal(docker("[{\"Config\": \"c.json\", \"Layers\": [\"/etc/passwd\"]}]", &p, err,
                            sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "Layers[0]"));
    assert_int_equal(docker("[{\"Config\": \"c.json\", \"Layers\": []}]", &p, err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(docker("[{\"Config\": \"c\", \"Layers\": [\"a\"]},"
                            " {\"Config\": \"c\", \"Layers\": [\"a\"]}]",
                            &p, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "exactly one"));
    assert_int_equal(docker("[{", &p, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "line 1"));
}

static void test_oci_index_and_manifest_give_blob_paths(void **state)
{
    const char *index =
            "{\"manifests\": [{\"mediaType\": "
            "\"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"sha256:" HEX_A
            "\", \"annotations\": {\"org.opencontainers.image.ref.name\": \"v1\"}}]}";
    const char *man = "{\"config\": {\"digest\": \"sha256:" HEX_A "\"},"
                      " \"layers\": [{\"digest\": \"sha256:" HEX_B "\"}]}";
    struct image__plan p = {0};
    char err[256] = "", hex[IMAGE__HEX_LEN], *ref = NULL;

    (void)state;
    assert_int_equal(image__parse_oci_index(index, strlen(index), hex, &ref, err, sizeof(err)), 0);
    assert_string_equal(hex, HEX_A);
    assert_string_equal(ref, "v1");
    free(ref);
    assert_int_equal(image__parse_oci_manifest(man, strlen(man), &p, err, sizeof(err)), 0);
    assert_string_equal(p.config, "blobs/sha256/" HEX_A);
    assert_string_equal(p.layers[0], "blobs/sha256/" HEX_B);
    assert_string_equal(p.layer_digests[0], HEX_B);
    image__plan_done(&p);
}

static void test_oci_refuses_nested_index_and_bad_digests(void **state)
{
    const char *nested =
            "{\"manifests\": [{\"mediaType\": "
            "\"application/vnd.oci.image.index.v1+json\", \"digest\": \"sha256:" HEX_A "\"}]}";
    const char *bad = "{\"config\": {\"digest\": \"sha256:../../x\"}, \"layers\": []}";
    struct image__plan p = {0};
    char err[256] = "", hex[IMAGE__HEX_LEN], *ref = NULL;

    (void)state;
    assert_int_equal(image__parse_oci_index(nested, strlen(nested), hex, &ref, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "multi-platform"));
    assert_int_equal(image__parse_oci_manifest(bad, strlen(bad), &p, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "sha256:HEX"));
}

static void test_config_keeps_env_workdir_user_cmd_diff_ids(void **state)
{
    const char *cfg = "{\"created\": \"2024-01-01T00:00:00Z\", \"config\": {\"Env\": [\"A=1\"],"
                      " \"WorkingDir\": \"/w\", \"User\": \"1000\", \"Cmd\": [\"sh\"]}}";
    const char *bad_env = "{\"config\": {\"Env\": [\"NOEQUALS\"]}}";
    const char *bad_cmd = "{\"config\": {\"Cmd\": \"sh\"}}";
    const char *bad_diff = "{\"rootfs\": {\"diff_ids\": [\"sha256:123\"]}}";
    char err[256] = "";
    json_t *c = NULL;

    (void)state;
    assert_int_equal(image__parse_config(cfg, strlen(cfg), &c, err, sizeof(err)), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "env"), 0)), "A=1");
    assert_string_equal(json_string_value(json_object_get(c, "working_dir")), "/w");
    assert_string_equal(json_string_value(json_object_get(c, "user")), "1000");
    assert_true(json_is_null(json_object_get(c, "entrypoint")));
    assert_int_equal(json_array_size(json_object_get(c, "diff_ids")), 0);
    assert_string_equal(json_string_value(json_object_get(c, "created")), "2024-01-01T00:00:00Z");
    json_decref(c);
    assert_int_equal(image__parse_config(bad_env, strlen(bad_env), &c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "env[0]"));
    assert_int_equal(image__parse_config(bad_cmd, strlen(bad_cmd), &c, err, sizeof(err)), -EINVAL);
    assert_int_equal(image__parse_config(bad_diff, strlen(bad_diff), &c, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "diff_ids[0]"));
}

static void test_image_names_are_slugs(void **state)
{
    (void)state;
    assert_true(image_name_is_valid("python-3.12"));
    assert_true(image_name_is_valid("0b345f94ea08"));
    assert_false(image_name_is_valid(""));
    assert_false(image_name_is_valid(".staging-1"));
    assert_false(image_name_is_valid("../x"));
    assert_false(image_name_is_valid("Upper"));
    assert_false(image_name_is_valid("a/b"));
}

/*** image_open ***/

static char images[] = "/tmp/test-image-open-XXXXXX";

/* An image dir @name under images/ with @config as config.json (NULL: none) and a rootfs dir
 * (or, with @rootfs_link, a symlink to / in its place). */
static void make_image(const char *name, const char *config, bool rootfs_link)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%s", images, name);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/%s/rootfs", images, name);
    assert_int_equal(rootfs_link ? symlink("/", path) : mkdir(path, 0755), 0);
    if (!config)
        return;
    snprintf(path, sizeof(path), "%s/%s/config.json", images, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(config, f);
    assert_int_equal(fclose(f), 0);
}

static void test_open_gives_the_rootfs_env_and_id(void **state)
{
    struct image_ref ref = {0};
    char err[256] = "", want[256];

    (void)state;
    assert_non_null(mkdtemp(images));
    make_image("ok",
               "{\"name\": \"ok\", \"id\": \"sha256:" HEX_A "\", \"env\": [\"PATH=/opt\","
               " \"A=1\"]}",
               false);
    assert_int_equal(image_open(images, "ok", &ref, err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "%s/ok/rootfs", images);
    assert_string_equal(ref.rootfs, want);
    assert_string_equal(ref.name, "ok");
    assert_string_equal(ref.id, "sha256:" HEX_A);
    assert_string_equal(ref.env[0], "PATH=/opt");
    assert_string_equal(ref.env[1], "A=1");
    assert_null(ref.env[2]);
    image_ref_done(&ref);
    make_image("noenv", "{\"env\": null, \"id\": null}", false);
    assert_int_equal(image_open(images, "noenv", &ref, err, sizeof(err)), 0);
    assert_null(ref.env);
    assert_null(ref.id);
    image_ref_done(&ref);
}

static void test_open_refuses_missing_bad_and_broken_images(void **state)
{
    struct image_ref ref = {0};
    char err[256] = "", link[256];

    (void)state;
    assert_int_equal(image_open(images, "nope", &ref, err, sizeof(err)), -ENOENT);
    assert_string_equal(err, "image 'nope' is not imported (runbox image ls)");
    assert_int_equal(image_open("/nonexistent/images", "x", &ref, err, sizeof(err)), -ENOENT);
    assert_int_equal(image_open(images, "../ok", &ref, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "bad image name"));
    make_image("rootfs-link", "{}", true);
    assert_int_equal(image_open(images, "rootfs-link", &ref, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "rootfs is not a directory"));
    make_image("no-config", NULL, false);
    assert_int_equal(image_open(images, "no-config", &ref, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "config.json"));
    make_image("bad-json", "{\"env\": [", false);
    assert_int_equal(image_open(images, "bad-json", &ref, err, sizeof(err)), -EINVAL);
    make_image("bad-env", "{\"env\": [\"NOEQUALS\"]}", false);
    assert_int_equal(image_open(images, "bad-env", &ref, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "\"env\"[0]"));
    /* The image dir itself a symlink (to another image): refused, not followed. */
    snprintf(link, sizeof(link), "%s/linked", images);
    assert_int_equal(symlink("ok", link), 0);
    assert_int_equal(image_open(images, "linked", &ref, err, sizeof(err)), -EINVAL);
    assert_null(ref.rootfs);
    snprintf(link, sizeof(link), "rm -rf %s", images);
    assert_int_equal(system(link), 0);
}

static void test_env_lays_the_image_over_the_base(void **state)
{
    char *img_env[] = {"PATH=/opt/bin", "NEW=1", "HOME=/root", NULL};
    const char *base[] = {"PATH=/usr/bin", "HOME=/tmp", "LANG=C", NULL};
    struct image_ref ref = {.env = img_env};
    const char **env;

    (void)state;
    env = image_env(&ref, base);
    assert_non_null(env);
    assert_string_equal(env[0], "PATH=/opt/bin");
    assert_string_equal(env[1], "HOME=/root");
    assert_string_equal(env[2], "LANG=C");
    assert_string_equal(env[3], "NEW=1");
    assert_null(env[4]);
    free(env);
    ref.env = NULL;
    env = image_env(&ref, base);
    assert_string_equal(env[0], "PATH=/usr/bin");
    assert_null(env[3]);
    free(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_docker_manifest_gives_members_digests_and_tag),
            cmocka_unit_test(test_docker_manifest_refuses_escaping_members_and_many_images),
            cmocka_unit_test(test_oci_index_and_manifest_give_blob_paths),
            cmocka_unit_test(test_oci_refuses_nested_index_and_bad_digests),
            cmocka_unit_test(test_config_keeps_env_workdir_user_cmd_diff_ids),
            cmocka_unit_test(test_image_names_are_slugs),
            cmocka_unit_test(test_open_gives_the_rootfs_env_and_id),
            cmocka_unit_test(test_open_refuses_missing_bad_and_broken_images),
            cmocka_unit_test(test_env_lays_the_image_over_the_base),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
