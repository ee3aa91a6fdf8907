/* SKELETON */
#include "course/course.h"

#include <errno.h>

const char *const course_templates[] = {NULL};

int course_init(const char *dir, const char *tmpl, char *err, size_t errlen)
{
    (void)dir, (void)tmpl;
    snprintf(err, errlen, "no templates yet");
    return -ENOSYS;
}
