/* The sample courses of `runbox course init`: the trees under courses/templates/, embedded at
 * build time by scripts/embed-dir.py (course-templates.c defines the tables). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "course/course.h"

struct course_template_file {
    const char *tmpl, *path;
    const unsigned char *data;
    unsigned long len;
    unsigned mode;
};
extern const struct course_template_file course_template_files[];
extern const unsigned long course_template_files_n;

static bool template_exists(const char *tmpl)
{
    for (const char *const *t = course_templates; *t; t++)
        if (strcmp(*t, tmpl) == 0)
            return true;
    return false;
}

static int unknown_template(const char *tmpl, char *err, size_t errlen)
{
    char known[256] = "";

    for (const char *const *t = course_templates; *t; t++)
        snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
                 t == course_templates ? "" : ", ", *t);
    snprintf(err, errlen, "unknown template '%s' (templates: %s)", tmpl, known);
    return -EINVAL;
}

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    bool empty = true;

    if (!d)
        return false;
    while (empty && (de = readdir(d)))
        empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
    (void)closedir(d);
    return empty;
}

/* The course's id is its directory's name: check it before writing anything. */
static int check_id(const char *dir, char *err, size_t errlen)
{
    size_t end = strlen(dir), start;

    while (end > 1 && dir[end - 1] == '/')
        end--;
    start = end;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    size_t n = end - start;
    bool ok = n > 0 && n <= 64 && dir[start] != '-' && dir[start] != '_' &&
              strspn(dir + start, "abcdefghijklmnopqrstuvwxyz0123456789_-") >= n;
    if (ok)
        return 0;
    snprintf(err, errlen,
             "'%s': the directory's name is the course's id: use [a-z0-9][a-z0-9_-]* (at most 64 "
             "characters)",
             dir);
    return -EINVAL;
}

/* Create @dir if missing (its parents too); fail when it exists and holds anything. */
static int prepare_dir(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    struct stat st;
    int r;

    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0755) < 0 && errno != EEXIST)
                goto fail;
            *p = '/';
        }
    if (mkdir(path, 0755) == 0)
        return 0;
    if (errno != EEXIST || lstat(path, &st) < 0)
        goto fail;
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "'%s' exists and is not a directory", dir);
        return -ENOTDIR;
    }
    if (dir_is_empty(path))
        return 0;
    snprintf(err, errlen, "'%s' is not empty (course init writes into a new or empty directory)",
             dir);
    return -ENOTEMPTY;
fail:
    r = -errno;
    snprintf(err, errlen, "cannot create '%s': %s", path, strerror(-r));
    return r;
}

/* Write @f below @dfd, creating its directories; never through a symlink. */
static int write_one(int dfd, const struct course_template_file *f)
{
    char rel[4096];
    _cleanup_close_ int cur = fcntl(dfd, F_DUPFD_CLOEXEC, 3), fd = -1;
    char *name = rel, *slash;

    if (cur < 0)
        return -errno;
    snprintf(rel, sizeof(rel), "%s", f->path);
    while ((slash = strchr(name, '/'))) {
        *slash = '\0';
        if (mkdirat(cur, name, 0755) < 0 && errno != EEXIST)
            return -errno;
        int next = openat(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0)
            return -errno;
        (void)close(cur);
        cur = next;
        name = slash + 1;
    }
    fd = openat(cur, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, f->mode);
    if (fd < 0)
        return -errno;
    return fd_write_all(fd, f->data, f->len);
}

int course_init(const char *dir, const char *tmpl, char *err, size_t errlen)
{
    _cleanup_close_ int dfd = -1;
    int r;

    if (!template_exists(tmpl))
        return unknown_template(tmpl, err, errlen);
    if ((r = check_id(dir, err, errlen)) < 0)
        return r;
    if ((r = prepare_dir(dir, err, errlen)) < 0)
        return r;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        snprintf(err, errlen, "cannot open '%s': %s", dir, strerror(errno));
        return -errno;
    }
    for (unsigned long i = 0; i < course_template_files_n; i++) {
        const struct course_template_file *f = &course_template_files[i];
        if (strcmp(f->tmpl, tmpl) != 0)
            continue;
        if ((r = write_one(dfd, f)) < 0) {
            snprintf(err, errlen, "cannot write '%s/%s': %s", dir, f->path, strerror(-r));
            return r;
        }
    }
    return 0;
}
