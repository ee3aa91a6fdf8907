/* What the stub generators share (stubs.c). */
#pragma once

#include "job/stubs.h"

typedef int (*stubs_gen_fn)(const struct iface *ifc, const struct job_file *student,
                            size_t n_student, struct judge_stubs *ret, char *err, size_t errlen);

/* Append the file @name with @data (malloc'd, taken even on failure) to @f. */
int stubs__add(struct job_files *f, const char *name, char *data, size_t len) _warn_unused_;

/* One per language family (stubs_<name>.c). */
int stubs__java(const struct iface *ifc, const struct job_file *student, size_t n_student,
                struct judge_stubs *ret, char *err, size_t errlen) _warn_unused_;
int stubs__rust(const struct iface *ifc, const struct job_file *student, size_t n_student,
                struct judge_stubs *ret, char *err, size_t errlen);
int stubs__go(const struct iface *ifc, const struct job_file *student, size_t n_student,
              struct judge_stubs *ret, char *err, size_t errlen);
int stubs__c(const struct iface *ifc, const struct job_file *student, size_t n_student,
             struct judge_stubs *ret, char *err, size_t errlen); /* stubs_c.c */
int stubs__cpp(const struct iface *ifc, const struct job_file *student, size_t n_student,
               struct judge_stubs *ret, char *err, size_t errlen); /* stubs_c.c */
