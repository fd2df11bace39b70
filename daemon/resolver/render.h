/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* JSON renderings shared by the daemon's Describe and the client's --json output: descriptors as parsed,
 * catalogue entries with their computed fields, and validation problems. It renders; it never decides. */

#include <yajl/yajl_gen.h>

#include "catalogue/catalogue.h"

/* The keys of a Resolve result or List entry (DESIGN section 5), as a JSON object. Returns 0 or -ENOMEM. */
int render_entry(yajl_gen g, const Entry *e, uint64_t generation);

/* The descriptor as parsed plus path, rank, valid, problems, shadowed-paths, masked and scope: what Describe
 * returns. Returns a pretty-printed JSON text, or NULL on ENOMEM. */
char *render_describe(const Entry *e, const char *scope, uint64_t generation);

/* Problems as an array of {severity, path, message}. Returns 0 or -ENOMEM. */
int render_problems(yajl_gen g, const Descriptor *d);

/* A generator configured the way every output of this project is (pretty, two-space indent). */
yajl_gen render_gen_new(bool pretty);
/* Copies the generator's buffer out. Returns NULL on ENOMEM. */
char *render_gen_steal(yajl_gen g);

static inline void yajl_gen_freep(yajl_gen *g) {
        if (*g)
                yajl_gen_free(*g);
}

/* Small yajl_gen wrappers that take C strings; they return the yajl status as an int, 0 for success. */
static inline int gen_map_open(yajl_gen g) { return (int) yajl_gen_map_open(g); }
static inline int gen_map_close(yajl_gen g) { return (int) yajl_gen_map_close(g); }
static inline int gen_array_open(yajl_gen g) { return (int) yajl_gen_array_open(g); }
static inline int gen_array_close(yajl_gen g) { return (int) yajl_gen_array_close(g); }
static inline int gen_bool(yajl_gen g, bool b) { return (int) yajl_gen_bool(g, b); }
int gen_string(yajl_gen g, const char *s);
int gen_key_string(yajl_gen g, const char *key, const char *value);
int gen_key_bool(yajl_gen g, const char *key, bool value);
int gen_key_uint(yajl_gen g, const char *key, uint64_t value);
int gen_key_strv(yajl_gen g, const char *key, char * const *l);
