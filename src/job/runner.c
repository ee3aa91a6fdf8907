/* Where a job's stages run: runbox's sandbox on the host's system, the sandbox on an imported
 * image's root (image.h), or a container of an engine's image (docker.h). The job's code above
 * sees one interface: a workspace for /box, then stages run over it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/job-int.h"

static const struct lang_runner host_runner = {LANG_RUNNER_SANDBOX, NULL};

const struct lang_runner *job__runner(const struct job_input *in)
{
    if (in->runner)
        return in->runner;
    /* A browser compile may run elsewhere than the language (a wasm32 std on an image). */
    if (in->lang && in->mode == JOB_MODE_BROWSER_COMPILE && in->lang->browser &&
        in->lang->browser->runner)
        return in->lang->browser->runner;
    return in->lang ? &in->lang->runner : &host_runner;
}

const char *job_images_dir(const struct job_config *cfg)
{
    return cfg && cfg->images_dir ? cfg->images_dir : JOB_IMAGES_DIR;
}

/* Is @image the one @l names for its stages or for its browser compile? */
static bool is_lang_image(const struct lang *l, const char *image)
{
    const struct lang_runner *rn[2] = {l ? &l->runner : NULL,
                                       l && l->browser ? l->browser->runner : NULL};

    for (size_t i = 0; i < ARRAY_SIZE(rn); i++)
        if (rn[i] && rn[i]->type == LANG_RUNNER_SANDBOX && rn[i]->image &&
            strcmp(rn[i]->image, image) == 0)
            return true;
    return false;
}

int job__runner_open(struct job__ctx *c, struct job_result *res)
{
    const struct lang_runner *rn = job__runner(c->in);
    char err[400] = "", version[200];
    int r;

    c->runner = rn;
    if (rn->type == LANG_RUNNER_SANDBOX) {
        if (!rn->image)
            return 0;
        r = image_open(job_images_dir(c->cfg), rn->image, &c->image, err, sizeof(err));
        /* A language's own image may be the system's, where `runbox languages install` builds
         * it (lang_set_images), when the data dir has none of that name. */
        if (r == -ENOENT && is_lang_image(c->in->lang, rn->image) &&
            strcmp(job_images_dir(c->cfg), JOB_IMAGES_DIR) != 0)
            r = image_open(JOB_IMAGES_DIR, rn->image, &c->image, err, sizeof(err));
        if (r < 0)
            snprintf(res->message, sizeof(res->message), "%s", err);
        return r;
    }
    if (!rn->image) {
        snprintf(res->message, sizeof(res->message), "the Docker runner needs an image");
        return -EINVAL;
    }
    if ((r = docker_engine(&c->cfg->docker, version, sizeof(version))) < 0) {
        snprintf(res->message, sizeof(res->message),
                 "this runs in Docker (image %s), and no engine is reachable: %s", rn->image,
                 version);
        return r;
    }
    return 0;
}

void job__runner_close(struct job__ctx *c)
{
    image_ref_done(&c->image);
}

bool job__on_host(const struct job__ctx *c)
{
    return c->runner->type == LANG_RUNNER_SANDBOX && !c->runner->image;
}

/*** Workspaces ***/

int job__ws_new(struct job__ctx *c, char **ret)
{
    size_t i;
    int r;

    if (c->runner->type != LANG_RUNNER_DOCKER)
        return sbx_workspace_new(c->h, JOB__WORKSPACE_BYTES, ret);
    for (i = 0; i < ARRAY_SIZE(c->dws) && c->dws[i].path; i++)
        ;
    if (i == ARRAY_SIZE(c->dws))
        return -EMFILE;
    if ((r = docker_ws_new(JOB__WORKSPACE_BYTES, &c->dws[i])) < 0)
        return r;
    if (!(*ret = strdup(c->dws[i].path))) {
        docker_ws_free(&c->dws[i]);
        memset(&c->dws[i], 0, sizeof(c->dws[i]));
        return -ENOMEM;
    }
    return 0;
}

static struct docker_ws *find_dws(struct job__ctx *c, const char *ws)
{
    for (size_t i = 0; ws && i < ARRAY_SIZE(c->dws); i++)
        if (c->dws[i].path && strcmp(c->dws[i].path, ws) == 0)
            return &c->dws[i];
    return NULL;
}

void job__ws_free(struct job__ctx *c, char *ws)
{
    struct docker_ws *d = find_dws(c, ws);

    if (!ws)
        return;
    if (d) {
        docker_ws_free(d);
        memset(d, 0, sizeof(*d));
    } else {
        sbx_workspace_free(c->h, ws);
    }
    free(ws);
}

/*** Stages ***/

int job__sbx_run(struct job__ctx *c, struct sbx_spec *spec, struct sbx_result *res)
{
    struct docker_ws *d;

    if (c->runner->type == LANG_RUNNER_SANDBOX) {
        spec->root = c->image.rootfs;
        if (spec->root)
            spec->ro_paths = NULL; /* the host's paths mean nothing on an image */
        return sbx_run(c->h, spec, res);
    }
    if (!(d = find_dws(c, spec->workdir)))
        return -EINVAL; /* job_run always gives a Docker job a workspace */
    return docker_run(&c->cfg->docker, c->runner->image, d, spec, res);
}

/*** For listings ***/

json_t *job_runner_to_json(const struct job_config *cfg, const struct lang_runner *rn)
{
    char why[400] = "";
    struct image_ref img = {0};
    bool ok = true;

    if (rn->type == LANG_RUNNER_DOCKER)
        ok = docker_engine(&cfg->docker, why, sizeof(why)) == 0 &&
             docker_image_exists(&cfg->docker, rn->image) == 0;
    else if (rn->image)
        ok = image_open(job_images_dir(cfg), rn->image, &img, why, sizeof(why)) == 0;
    image_ref_done(&img);
    return json_pack("{s:s, s:s?, s:b}", "type", lang_runner_type_to_string(rn->type), "image",
                     rn->image, "available", ok);
}

json_t *job_engines_to_json(const struct job_config *cfg)
{
    char version[400] = "";
    bool ok = docker_engine(&cfg->docker, version, sizeof(version)) == 0;

    return json_pack("{s:{s:b, s:s?, s:s?}}", "docker", "available", ok, "version",
                     ok ? version : NULL, "error", ok ? NULL : version);
}
