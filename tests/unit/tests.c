/* SPDX-License-Identifier: LGPL-2.1-or-later */

#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <sys/stat.h>

#include "tests.h"

char *test_data_path(const char *relative) {
        const char *base = getenv("FWREGISTRY_TEST_DATA");
        char *p = path_join(base ?: TEST_DATA_DIR, relative);

        CHECK(p);
        return p;
}

char *test_read_file(const char *path, size_t *ret_size) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t size = 0, allocated = 0, n;

        if (!f) {
                fprintf(stderr, "cannot open '%s'\n", path);
                abort();
        }
        do {
                if (size + 4096 + 1 > allocated) {
                        allocated = (allocated + 4096) * 2;
                        buf = realloc(buf, allocated);
                        CHECK(buf);
                }
                n = fread(buf + size, 1, allocated - size - 1, f);
                size += n;
        } while (n > 0);
        fclose(f);
        buf[size] = 0;
        if (ret_size)
                *ret_size = size;
        return buf;
}

char *test_tmpdir_new(void) {
        const char *tmp = getenv("TMPDIR");
        char *t = path_join(isempty(tmp) ? "/tmp" : tmp, "fwregistry-test-XXXXXX");

        CHECK(t);
        CHECK(mkdtemp(t));
        return t;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

void test_tmpdir_remove(const char *dir) {
        if (dir)
                nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

void test_mkdir(const char *dir, const char *relative) {
        _cleanup_(freep) char *p = path_join(dir, relative);

        CHECK(p);
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        CHECK(mkdir(p, 0755) >= 0 || errno == EEXIST);
                        *s = '/';
                }
        CHECK(mkdir(p, 0755) >= 0 || errno == EEXIST);
}

static char *prepare_parent(const char *dir, const char *relative) {
        char *p = path_join(dir, relative);
        char *slash;

        CHECK(p);
        slash = strrchr(p, '/');
        *slash = 0;
        test_mkdir(p, "");
        *slash = '/';
        return p;
}

void test_write_file(const char *dir, const char *relative, const char *content) {
        _cleanup_(freep) char *p = prepare_parent(dir, relative);
        FILE *f = fopen(p, "we");

        CHECK(f);
        CHECK(fwrite(content, 1, strlen(content), f) == strlen(content));
        CHECK(fclose(f) == 0);
}

void test_symlink(const char *target, const char *dir, const char *relative) {
        _cleanup_(freep) char *p = prepare_parent(dir, relative);

        CHECK(symlink(target, p) >= 0);
}
