/* Shared between the language module's files (lang.c, index.c); not its API. */
#pragma once

#include <stdbool.h>

#include "lang/lang.h"

#define LANG_FILE_MAX (256u << 10) /* a language file, a support file */

/* Whether @name (a directory entry) is a language file: NAME.json, not hidden. */
bool lang__is_lang_file(const char *name);
/* Load every *.json of @dir into @set; with @lazy, support files are left for lang__ready(). */
int lang__load_dir(const char *dir, bool lazy, struct lang_set *set, struct lang_error *err);
/* Read @l's support files from @dir/support/. */
void lang__load_support(struct lang *l, const char *dir);
/* Set l->base and l->variant from l->name ("python@3.13"). 0 or -ENOMEM. */
int lang__split_name(struct lang *l);
/* Set l->image_root from @set's images dir (lang_set_images). */
void lang__find_image(const struct lang_set *set, struct lang *l);
/* Lookups that leave stubs as they are. */
struct lang *lang__find_name(const struct lang_set *set, const char *name);
struct lang *lang__find_judge0(const struct lang_set *set, unsigned id,
                               const struct lang_judge0_id **ret_id);
/* @l ready to run (index.c): parsed if it was a stub, its support files read if they were not;
 * NULL (set->why says why) when its file no longer parses. NULL @l gives NULL. */
struct lang *lang__ready(const struct lang_set *set, struct lang *l);
