/* Judge mode's generated stubs for the compiled languages (docs/judge.md): from an exercise's
 * interface (iface.h), the files the judge box gets beside the tests (functions and types with
 * the names the tests use, whose bodies send requests on fd 4 and read answers on fd 3) and
 * the files the student box gets beside the student's files (a server whose main reads
 * requests on fd 3, calls the student's code and answers on fd 4). One generator per language
 * family, named by the language file's "judge": {"stubs": NAME}. */
#pragma once

#include "job/iface.h"
#include "job/job.h"

struct judge_stubs {
    struct job_files judge;   /* added to the judge box's /box */
    struct job_files student; /* added to the student box's /box */
};

/* Generate @lang_name's stubs ("c", "cpp", "rust", "go", "java") for @ifc. The student's files
 * are given (a generator may need the student's module or package name from them). On an
 * error, -errno with @err saying why. */
int stubs_generate(const char *gen, const struct iface *ifc, const struct job_file *student,
                   size_t n_student, struct judge_stubs *ret, char *err,
                   size_t errlen) _warn_unused_;
void judge_stubs_done(struct judge_stubs *s);
/* True when a generator of that name exists. */
bool stubs_known(const char *gen);
