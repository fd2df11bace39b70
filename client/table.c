/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "table.h"

struct Table {
        size_t n_columns;
        char **cells;           /* header row first, then n_rows rows */
        size_t n_rows;
};

static int table_append(Table *t, const char *first, va_list ap) {
        size_t base = (t->n_rows + 1) * t->n_columns;
        char **n = realloc(t->cells, sizeof(char *) * (base + t->n_columns));
        const char *s = first;

        if (!n)
                return -ENOMEM;
        t->cells = n;
        for (size_t i = 0; i < t->n_columns; i++) {
                t->cells[base + i] = strdup(s ?: "-");
                if (!t->cells[base + i]) {
                        for (size_t j = 0; j < i; j++)
                                free(t->cells[base + j]);
                        return -ENOMEM;
                }
                if (s)
                        s = va_arg(ap, const char *);
        }
        t->n_rows++;
        return 0;
}

Table *table_new(const char *first, ...) {
        Table *t = calloc(1, sizeof(Table));
        va_list ap;
        int r;

        if (!t)
                return NULL;
        va_start(ap, first);
        for (const char *s = first; s; s = va_arg(ap, const char *))
                t->n_columns++;
        va_end(ap);

        t->n_rows = (size_t) -1;        /* the header is row -1 */
        va_start(ap, first);
        r = table_append(t, first, ap);
        va_end(ap);
        if (r < 0) {
                free(t->cells);
                free(t);
                return NULL;
        }
        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < (t->n_rows + 1) * t->n_columns; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
        return NULL;
}

int table_add_row(Table *t, const char *first, ...) {
        va_list ap;
        int r;

        va_start(ap, first);
        r = table_append(t, first, ap);
        va_end(ap);
        return r;
}

int table_print(const Table *t, FILE *f, bool header) {
        size_t widths[16] = {};

        for (size_t row = 0; row <= t->n_rows; row++)
                for (size_t col = 0; col < t->n_columns && col < ELEMENTSOF(widths); col++) {
                        size_t w = strlen(t->cells[row * t->n_columns + col]);
                        if (w > widths[col])
                                widths[col] = w;
                }
        for (size_t row = header ? 0 : 1; row <= t->n_rows; row++) {
                for (size_t col = 0; col < t->n_columns; col++) {
                        const char *cell = t->cells[row * t->n_columns + col];
                        bool last = col + 1 == t->n_columns;

                        fprintf(f, "%-*s%s", last ? 0 : (int) widths[col], cell, last ? "\n" : "  ");
                }
        }
        return 0;
}
