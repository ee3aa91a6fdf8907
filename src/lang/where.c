/* Where a language's toolchain is: on this host, or in the image its runner names (found in the
 * data dir's images, else the system's, where `runbox languages install` builds it), and
 * whether its programs are there. Paths in an image are resolved inside its root
 * (openat2 RESOLVE_IN_ROOT), as the box that runs on it resolves them: an image's absolute
 * symlinks never lead to the host's files. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lang/lang-int.h"
#include "lang/lang.h"

/*** Images: where a language on an image finds it ***/

/* The rootfs of the sandbox image @rn names, found as lang_set_images() says, or NULL. */
static char *image_root_of(const struct lang_set *set, const struct lang_runner *rn)
{
    const char *dirs[] = {set->images_dir, LANG_SYSTEM_IMAGES_DIR};
    char path[4096];
    struct stat st;

    if (!rn || rn->type != LANG_RUNNER_SANDBOX || !rn->image)
        return NULL;
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        if (!dirs[i] ||
            snprintf(path, sizeof(path), "%s/%s/rootfs", dirs[i], rn->image) >= (int)sizeof(path))
            continue;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return strdup(path);
    }
    return NULL;
}

void lang__find_image(const struct lang_set *set, struct lang *l)
{
    free(l->image_root);
    l->image_root = image_root_of(set, &l->runner);
    if (l->browser) {
        free(l->browser->image_root);
        l->browser->image_root = image_root_of(set, l->browser->runner);
    }
}

int lang_set_images(struct lang_set *set, const char *dir)
{
    free(set->images_dir);
    set->images_dir = NULL;
    if (dir && !(set->images_dir = strdup(dir)))
        return -ENOMEM;
    for (size_t i = 0; i < set->n; i++)
        lang__find_image(set, set->v[i]);
    return 0;
}

/* Is @path an executable file under @root_fd (AT_FDCWD: the host's /), resolved as the box
 * resolves it: an image's absolute symlinks ("/etc/alternatives/...") stay inside its root? */
static bool executable_at(int root_fd, const char *path)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
    struct stat st;
    int fd;

    if (root_fd == AT_FDCWD)
        return access(path, X_OK) == 0;
    fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
    if (fd < 0)
        return false;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
    (void)close(fd);
    return ok;
}

static bool executable_in(int root_fd, const char *prog)
{
    static const char *const dirs[] = {"/usr/local/bin", "/usr/bin", "/bin"};
    char path[4096];

    if (prog[0] == '/')
        return executable_at(root_fd, prog);
    if (strchr(prog, '/'))
        return true; /* relative to /box: built by the compile step */
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        snprintf(path, sizeof(path), "%s/%s", dirs[i], prog);
        if (executable_at(root_fd, path))
            return true;
    }
    return false;
}

/* The fd of the root that runner @rn's stages see (AT_FDCWD for the host's), -1 when its image
 * (@image_root) is missing. */
static int stage_root(const struct lang_runner *rn, const char *image_root)
{
    if (rn->type != LANG_RUNNER_SANDBOX || !rn->image)
        return AT_FDCWD;
    if (!image_root)
        return -1;
    return open(image_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static bool installed_in(const struct lang_runner *rn, const char *image_root, char *const *argv)
{
    int root = stage_root(rn, image_root);
    bool ok = root != -1 && executable_in(root, argv[0]);

    if (root >= 0)
        (void)close(root);
    return ok;
}

bool lang_is_installed(const struct lang *l)
{
    if (l->compile && !installed_in(&l->runner, l->image_root, l->compile))
        return false;
    return installed_in(&l->runner, l->image_root, l->run) &&
           installed_in(&l->runner, l->image_root, l->version_cmd);
}

bool lang_browser_compile_is_installed(const struct lang *l)
{
    const struct lang_browser *b = l->browser;

    if (!b || !b->compile)
        return false;
    return b->runner ? installed_in(b->runner, b->image_root, b->compile)
                     : installed_in(&l->runner, l->image_root, b->compile);
}
