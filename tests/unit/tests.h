/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers for the unit tests: checks that print what failed, temporary trees, fixture paths. */

#undef NDEBUG
#include <assert.h>
#include <stdio.h>

#include "util/util.h"

#define CHECK(expr)                                                                             \
        do {                                                                                    \
                if (!(expr)) {                                                                  \
                        fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__,    \
                                __func__, #expr);                                               \
                        abort();                                                                \
                }                                                                               \
        } while (0)

#define CHECK_STREQ(a, b)                                                                       \
        do {                                                                                    \
                const char *_a = (a), *_b = (b);                                                \
                if (!streq_ptr(_a, _b)) {                                                       \
                        fprintf(stderr, "%s:%d: %s: expected \"%s\", got \"%s\"\n", __FILE__,   \
                                __LINE__, __func__, _b ? _b : "(null)", _a ? _a : "(null)");    \
                        abort();                                                        \
                }                                                                               \
        } while (0)

#define RUN(test)                                               \
        do {                                                    \
                fprintf(stderr, "== %s\n", #test);              \
                test();                                         \
        } while (0)

/* Exit code that meson counts as "skipped". */
#define EXIT_TEST_SKIP 77

/* $FWREGISTRY_TEST_DATA/relative, or the source tree's tests/data when unset. The caller frees. */
char *test_data_path(const char *relative);

/* Reads a whole file; aborts on failure. The caller frees. */
char *test_read_file(const char *path, size_t *ret_size);

/* A fresh directory below $TMPDIR; test_tmpdir_remove() deletes it with everything below. */
char *test_tmpdir_new(void);
void test_tmpdir_remove(const char *dir);

/* Creates dir/relative with the given content, creating parent directories. Aborts on failure. */
void test_write_file(const char *dir, const char *relative, const char *content);
/* Creates dir/relative as a symlink to target. */
void test_symlink(const char *target, const char *dir, const char *relative);
/* mkdir -p dir/relative */
void test_mkdir(const char *dir, const char *relative);
