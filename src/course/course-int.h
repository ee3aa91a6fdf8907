/* What course.c offers its own tests and fuzz harness, not the rest of runbox: course.json and
 * exercise.json checked from bytes in memory by the code course_load runs on the files, with no
 * file system, no directory name for an id and no exercise files (tests, solution, starter). */
#pragma once

#include <stddef.h>

#include "course/course.h"

/* Check @json (@len bytes) as a course.json against @langs, as course_load does; on an error,
 * @err reads "course.json: <field>: ...". The course has no id, no dir and no exercises. */
int course__parse_json(const char *json, size_t len, const struct lang_set *langs,
                       struct course **ret, char *err, size_t errlen) _warn_unused_;

/* Add to @c the exercise @slug with the README.md @readme (@readme_len bytes, not NULL) and the
 * exercise.json @json (@len bytes; NULL: the exercise has none), checked as course_load checks
 * them: its limits go over the course's, its title falls back on the README's first heading,
 * then the slug. -EINVAL when @slug is not a slug or already there. On any error @c is left
 * as it was. No files: starter, solution and tests stay empty. */
int course__add_exercise(struct course *c, const char *slug, const char *readme, size_t readme_len,
                         const char *json, size_t len, char *err, size_t errlen) _warn_unused_;
