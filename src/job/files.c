/* SKELETON */
#include <errno.h>

#include "job/job.h"

void job_files_done(struct job_files *f)
{
    (void)f;
}

int job_files_read(const char *dir, const char *const *skip, size_t max_files, uint64_t max_bytes,
                   struct job_files *ret)
{
    (void)dir, (void)skip, (void)max_files, (void)max_bytes, (void)ret;
    return -ENOSYS;
}

int job_files_write(const char *dir, const struct job_files *f)
{
    (void)dir, (void)f;
    return -ENOSYS;
}

json_t *job_out_files(const char *dir, const struct job_out_limits *lim)
{
    (void)dir, (void)lim;
    return NULL;
}
