/* What image.c offers its fuzz harness: the parsers of manifest.json, index.json, an OCI
 * manifest and an image config, from bytes in memory. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "image/image.h"

#define IMAGE__HEX_LEN 65 /* 64 hex digits and a NUL */

/* What to read from the archive: the config member and the layer members, bottom first. */
struct image__plan {
    char *config;                          /* archive member holding the config */
    char config_digest[IMAGE__HEX_LEN];    /* its SHA-256 in hex, "" when not known */
    size_t n_layers;                       /* 1 to IMAGE_MAX_LAYERS */
    char **layers;                         /* archive members of the layers */
    char (*layer_digests)[IMAGE__HEX_LEN]; /* their SHA-256, "" when not known */
    char *ref;                             /* the archive's name for the image, or NULL */
};

void image__plan_done(struct image__plan *p);

/* docker save's manifest.json: an array of exactly one {Config, RepoTags, Layers}. Member
 * paths are relative, without "..". -EINVAL with a message in @err. */
int image__parse_docker_manifest(const char *json, size_t len, struct image__plan *ret, char *err,
                                 size_t errlen) _warn_unused_;

/* An OCI index.json: the digest (hex) of its first image manifest and its ref.name annotation
 * (malloc'd, or NULL). A nested index (multi-platform) is refused. */
int image__parse_oci_index(const char *json, size_t len, char ret_digest[IMAGE__HEX_LEN],
                           char **ret_ref, char *err, size_t errlen) _warn_unused_;

/* An OCI image manifest: config and layer descriptors, as blobs/sha256/HEX members. */
int image__parse_oci_manifest(const char *json, size_t len, struct image__plan *ret, char *err,
                              size_t errlen) _warn_unused_;

/* An image config: {"env": [...], "working_dir", "user", "cmd", "entrypoint", "created"}, with
 * strings for missing strings and null for missing arrays (a new reference). */
int image__parse_config(const char *json, size_t len, json_t **ret, char *err,
                        size_t errlen) _warn_unused_;
