/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Aligned text tables for the client's human output; no colours, no wrapping. */

#include <stdio.h>

#include "util/util.h"

typedef struct Table Table;

/* Column headers, NULL-terminated. Returns NULL on ENOMEM. */
Table *table_new(const char *first, ...);
Table *table_free(Table *t);
static inline void table_freep(Table **t) {
        table_free(*t);
}
/* One cell per column, NULL-terminated; NULL cells print as "-". Returns 0 or -ENOMEM. */
int table_add_row(Table *t, const char *first, ...);
/* Returns 0. */
int table_print(const Table *t, FILE *f, bool header);
