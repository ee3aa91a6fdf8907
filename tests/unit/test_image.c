/* Unit tests of src/image's parsers: docker save's manifest.json, OCI index.json and manifest,
 * the image config, and image names. Archives themselves are tested end to end by
 * tests/integration/17-images.sh. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_docker_manifest_gives_members_digests_and_tag),
            cmocka_unit_test(test_docker_manifest_refuses_escaping_members_and_many_images),
            cmocka_unit_test(test_oci_index_and_manifest_give_blob_paths),
            cmocka_unit_test(test_oci_refuses_nested_index_and_bad_digests),
            cmocka_unit_test(test_config_keeps_env_workdir_user_cmd_diff_ids),
            cmocka_unit_test(test_image_names_are_slugs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
