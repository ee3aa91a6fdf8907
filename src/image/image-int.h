/* What image.c offers its fuzz harness (the parsers of manifest.json, index.json, an OCI
 * manifest and an image config, from bytes in memory) and build.c (the staging dir, removal
 * and config.json), and what build.c offers its unit tests (package names, the host's apt
 * sources and suite). */
#pragma once

#include <dirent.h>
#include <jansson.h>
#include <stddef.h>

#include "image/image.h"

#define IMAGE__HEX_LEN   65 /* 64 hex digits and a NUL */
#define IMAGE__STAGE_LEN 32 /* ".staging-" and 12 hex digits, and a NUL */

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

/*** The staging dir, shared by import and build (image.c) ***/

/* Make a fresh <images>/.staging-XXXXXXXXXXXX (0700) under @dir_fd; its name into @ret. */
int image__stage_new(int dir_fd, char ret[IMAGE__STAGE_LEN]) _warn_unused_;

/* Make the staging dir @stage (open as @stage_fd) the image @name: 0755, then renamed without
 * replacing (-EEXIST, "the image 'NAME' exists already" in @err). */
int image__stage_commit(int dir_fd, int stage_fd, const char *stage, const char *name, char *err,
                        size_t errlen) _warn_unused_;

/* openat2(@dfd, @name) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, O_NOFOLLOW and O_CLOEXEC
 * added to @flags: an fd or -errno. */
int image__open_beneath(int dfd, const char *name, int flags);

/* Remove @name under @dfd, a directory with all it holds, never through a symlink. 0 when it is
 * missing. Mounts are not checked: the caller makes sure none is below. */
int image__remove_at(int dfd, const char *name) _warn_unused_;

/* Write @cfg into @dir_fd/config.json (new, indented, sorted keys, fsync'd). */
int image__write_config(int dir_fd, json_t *cfg) _warn_unused_;

/*** image build's host defaults (build.c) ***/

#define IMAGE__PACKAGE_MAX 128 /* bytes in a Debian package name */
#define IMAGE__MIRROR_MAX  512 /* bytes in a mirror URL */
#define IMAGE__SUITE_MAX   64  /* bytes in a suite name */

/* A suite debootstrap knows by name: [a-z0-9][a-z0-9.-]*, at most IMAGE__SUITE_MAX bytes. */
bool image__suite_is_valid(const char *suite);

/* An http://, https:// or file:/// URL of printable ASCII without spaces, at most
 * IMAGE__MIRROR_MAX bytes. */
bool image__mirror_is_valid(const char *url);

/* VERSION_CODENAME from the text of an os-release file (quoted or not) into @out. -ENOENT when
 * there is none or it is not a valid suite. */
int image__parse_os_release(const char *text, char *out, size_t len) _warn_unused_;

/* The first http(s) URI of an enabled "deb" source in the text of an apt sources file: deb822
 * (@deb822: a .sources file's "URIs:" field) or one-line ("deb [opts] URI suite comp..."). -ENOENT
 * when there is none. */
int image__parse_apt_sources(const char *text, bool deb822, char *out, size_t len) _warn_unused_;

/* The host's suite and mirror, read under @root ("/" but for tests): etc/os-release's codename
 * (else "bookworm"); the first http(s) URI of etc/apt/sources.list, then of
 * etc/apt/sources.list.d/ *.list and *.sources in name order (else
 * http://deb.debian.org/debian). Never fail. */
void image__host_suite(const char *root, char *out, size_t len);
void image__host_mirror(const char *root, char *out, size_t len);

/* Write the message into @err (@len bytes) and return @r: for "return image__failf(...)". */
int image__failf(char *err, size_t len, int r, const char *fmt, ...) _printf_(4, 5);

/* A DIR over a copy of directory fd @fd (which stays open and where it is), for readdir. */
int image__opendir(int fd, DIR **ret) _warn_unused_;
