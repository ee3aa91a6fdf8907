/* The stub generators by name (stubs.h); each language family's is in stubs_<name>.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "job/stubs-int.h"

static const struct {
    const char *name;
    stubs_gen_fn fn;
} gens[] = {
        /* one line per generator */
        {"c", stubs__c},       {"cpp", stubs__cpp},   {"go", stubs__go},
        {"rust", stubs__rust}, {"java", stubs__java}, {NULL, NULL},
};

bool stubs_known(const char *gen)
{
    for (size_t i = 0; gen && gens[i].name; i++)
        if (strcmp(gens[i].name, gen) == 0)
            return true;
    return false;
}

int stubs_generate(const char *gen, const struct iface *ifc, const struct job_file *student,
                   size_t n_student, struct judge_stubs *ret, char *err, size_t errlen)
{
    *ret = (struct judge_stubs){0};
    for (size_t i = 0; gen && gens[i].name; i++)
        if (strcmp(gens[i].name, gen) == 0) {
            int r = gens[i].fn(ifc, student, n_student, ret, err, errlen);
            if (r < 0)
                judge_stubs_done(ret);
            return r;
        }
    snprintf(err, errlen, "no stub generator '%s'", gen ? gen : "(none)");
    return -ENOENT;
}

void judge_stubs_done(struct judge_stubs *s)
{
    job_files_done(&s->judge);
    job_files_done(&s->student);
}

int stubs__add(struct job_files *f, const char *name, char *data, size_t len)
{
    struct job_file *v = realloc(f->v, (f->n + 1) * sizeof(*v));

    if (!v) {
        free(data);
        return -ENOMEM;
    }
    f->v = v;
    if (!(v[f->n].name = strdup(name))) {
        free(data);
        return -ENOMEM;
    }
    v[f->n].data = data;
    v[f->n].len = len;
    v[f->n].mode = 0644;
    f->n++;
    f->bytes += len;
    return 0;
}
