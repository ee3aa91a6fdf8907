/* Container images without a daemon: `docker save` archives and OCI image layouts imported into
 * a root filesystem plus a small config.json under <data dir>/images/<name>/.
 *
 * Theory of operation. One process, no privileges needed beyond writing the images dir. The
 * archive is read with libarchive, never unpacked as a whole: a first pass finds manifest.json
 * (docker save) or index.json (OCI, then the manifest blob it names), a second reads the config
 * blob, then one pass per layer streams that member through a raw libarchive reader (any
 * compression) into a tar reader, hashing with SHA-256 both the bytes as stored and the bytes
 * decompressed. A blob whose digest is known (blobs/sha256/HEX, HEX.json, an OCI descriptor)
 * must match it, and each layer's decompressed tar must match the config's rootfs.diff_ids
 * when the config has them (the only check old-style docker save layers, <id>/layer.tar, get),
 * or the import fails.
 *
 * Layers are applied bottom first into <images>/.staging-XXXXXX/rootfs, entry by entry, by our
 * own code and never archive_write_disk: every parent directory is opened with openat2()
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS (created 0755 when missing), and the last component is
 * created with mkdirat/openat(O_EXCL | O_NOFOLLOW)/symlinkat/linkat relative to it, so nothing
 * is ever written through a symlink, whatever earlier layers left. Hostile entries:
 *   - an absolute path, a ".." component, a path through a symlink, a hard link whose target is
 *     absolute, outside or not yet extracted: the import fails, naming the entry and the layer;
 *   - device nodes, FIFOs and sockets: skipped and counted (config.json "skipped_special");
 *   - setuid, setgid and sticky bits on files, setuid/setgid on directories: stripped and
 *     counted ("stripped_modes"); directories are always u+rwx so the tree can be removed;
 *   - ownership, times and xattrs are not kept: the files belong to whoever imported them;
 *   - IMAGE_MAX_BYTES of files (each file's size counts from its header, before any data is
 *     read, so a bomb is refused at once), IMAGE_MAX_ENTRIES entries, IMAGE_MAX_DEPTH path
 *     components per entry, and twice IMAGE_MAX_BYTES decompressed per layer;
 *   - Ctrl-C (the caller's @stop) ends an import between two entries.
 * Symlink targets are stored as they are: they are values, resolved only later inside the box's
 * own root. Whiteouts: ".wh.NAME" removes NAME from the lower layers, ".wh..wh..opq" empties its
 * directory of what the lower layers put there (entries of the same layer stay, whatever the
 * order in the tar).
 *
 * Then config.json is written beside rootfs/ and the staging dir is renamed to <name> (no
 * replace); on any failure the staging dir is removed, so a failed import leaves nothing. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/util.h"

#define IMAGE_MAX_BYTES   (8ull << 30) /* file data written, all layers together */
#define IMAGE_MAX_ENTRIES 1000000      /* archive entries, all layers together */
#define IMAGE_MAX_DEPTH   256          /* components in one entry's path */
#define IMAGE_MAX_LAYERS  256
#define IMAGE_NAME_MAX    128

/* True when @name can name an image: 1 to IMAGE_NAME_MAX of a-z 0-9 . _ - , starting with a
 * letter or digit. */
bool image_name_is_valid(const char *name);

/* True when @name is a Debian package name: [a-z0-9][a-z0-9+.-]+, at most 128 bytes (image
 * build's --packages, a language file's "packages"). */
bool image_package_is_valid(const char *name);

/* Import the docker-save archive or OCI layout (tar, any compression) at @file into
 * @images_dir/<name>/{rootfs,config.json}. @name NULL: from the archive's own tag (RepoTags, the
 * OCI ref.name annotation) made a valid name, else the config digest's first 12 hex digits.
 * @images_dir must exist. @stop (may be NULL) is asked before each entry: when it says true the
 * import ends with -EINTR (a SIGINT handler's flag). On success *@ret_config is config.json's
 * content (a new reference). Returns 0, or -errno with a message in @err; -EEXIST when the name
 * is taken. Nothing is left behind on failure. */
int image_import(const char *images_dir, const char *file, const char *name, bool (*stop)(void),
                 json_t **ret_config, char *err, size_t errlen) _warn_unused_;

/* The images in @images_dir as an array of their config.json objects, sorted by name (an
 * @images_dir that does not exist has none). */
int image_list(const char *images_dir, json_t **ret) _warn_unused_;

/* Remove the image @name: renamed out of the way first, then deleted. -ENOENT when there is
 * none, -EINVAL for a bad name. */
int image_remove(const char *images_dir, const char *name) _warn_unused_;

/* An imported image opened for runs (image_open). */
struct image_ref {
    char *name;
    char *rootfs; /* <images_dir>/<name>/rootfs: the box's read-only system root */
    char *id;     /* "sha256:..." from config.json, or NULL */
    char **env;   /* config.json "env" (KEY=VALUE, NULL-terminated), or NULL */
};

/* Open the image @name in @images_dir for runs: -ENOENT (with "image 'NAME' is not imported
 * (runbox image ls)" in @err) when there is none, -EINVAL for a bad name or a broken image. */
int image_open(const char *images_dir, const char *name, struct image_ref *ret, char *err,
               size_t errlen) _warn_unused_;
void image_ref_done(struct image_ref *ref);

/* The environment of a run on @ref: @base (KEY=VALUE, NULL-terminated, may be NULL) with the
 * image's env laid over (a key both have gets the image's value in the base's place: the
 * image's PATH wins; the image's other keys follow). The strings stay @base's and @ref's: free
 * only the array. NULL when out of memory. */
const char **image_env(const struct image_ref *ref, const char *const *base);

/* What `runbox image build` makes an image from. */
struct image_build_spec {
    const char *suite;           /* Debian suite; NULL = the host's (bookworm) */
    const char *mirror;          /* NULL = the host's apt source, else deb.debian.org/debian */
    const char *const *packages; /* Debian packages added to minbase, NULL-terminated or NULL */
    const char *const *env;      /* KEY=VALUE added to (or replacing, by KEY) config.json "env",
                                  * which starts as a Debian PATH and LANG=C.UTF-8; may be NULL */
    const char *cache_dir;       /* debootstrap --cache-dir: .debs kept between builds, or NULL */
};

/* Build the image @name in @images_dir from Debian packages with debootstrap --variant=minbase
 * (into a staging dir, then normalised and renamed like an import; nothing left on failure:
 * src/image/build.c has the theory of operation). Needs root (-EPERM otherwise). The spec is
 * checked before anything runs (-EINVAL), and the name (-EEXIST). Output of debootstrap goes
 * to @log (may be NULL: to a log file whose tail a failure's message quotes). @stop as for
 * image_import, asked every 100 ms: debootstrap is killed. */
int image_build(const char *images_dir, const char *name, const struct image_build_spec *spec,
                FILE *log, bool (*stop)(void), json_t **ret_config, char *err,
                size_t errlen) _warn_unused_;
