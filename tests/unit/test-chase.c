/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <sys/stat.h>

#include "util/chase.h"
#include "tests.h"

/* What a lookup found: its identity, or the error. */
static void lookup(int root_fd, const char *path, bool walk, struct stat *ret, int *ret_error) {
        int fd = walk ? chase_open_walk(root_fd, path, O_PATH) : chase_open(root_fd, path, O_PATH);

        *ret = (struct stat) {};
        *ret_error = fd < 0 ? fd : 0;
        if (fd >= 0) {
                CHECK(fstat(fd, ret) == 0);
                close(fd);
        }
}

static void test_root(void) {
        _cleanup_(freep) char *root = test_tmpdir_new();
        static const struct {
                const char *path;
                const char *expect;     /* a path inside the root that names the same file, or NULL */
                int error;
        } cases[] = {
                { "a/b/file", "a/b/file", 0 },
                { "/a/b/file", "a/b/file", 0 },
                { "abs", "a/b/file", 0 },                       /* absolute link: inside the root */
                { "rel", "a/b/file", 0 },
                { "up", "a/b/file", 0 },                        /* '..' past the root stops at it */
                { "a/../../../a/b/file", "a/b/file", 0 },
                { "dirlink/b/file", "a/b/file", 0 },            /* a linked directory on the way */
                { "a/b/parent/b/file", "a/b/file", 0 },         /* a link to '..' */
                { "a/b/../b/./file", "a/b/file", 0 },
                { "/", ".", 0 },
                { "..", ".", 0 },
                { "out", NULL, -ENOENT },                       /* /etc/passwd of the host: not in the root */
                { "outrel", NULL, -ENOENT },
                { "dangling", NULL, -ENOENT },
                { "loop1", NULL, -ELOOP },
                { "a/b/file/x", NULL, -ENOTDIR },
        };
        int root_fd;

        test_write_file(root, "a/b/file", "root's file");
        test_symlink("/a/b/file", root, "abs");
        test_symlink("a/b/file", root, "rel");
        test_symlink("../../../../../../a/b/file", root, "up");
        test_symlink("/a", root, "dirlink");
        test_symlink("..", root, "a/b/parent");
        test_symlink("/etc/passwd", root, "out");
        test_symlink("../../../../../../../../etc/passwd", root, "outrel");
        test_symlink("/nowhere", root, "dangling");
        test_symlink("loop2", root, "loop1");
        test_symlink("/loop1", root, "loop2");

        root_fd = chase_root_open(root);
        CHECK(root_fd >= 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct stat kernel, walked, want = {};
                int kernel_error, walked_error;

                fprintf(stderr, "   %s\n", cases[i].path);
                lookup(root_fd, cases[i].path, false, &kernel, &kernel_error);
                lookup(root_fd, cases[i].path, true, &walked, &walked_error);
                if (cases[i].expect) {
                        _cleanup_(freep) char *p = path_join(root, cases[i].expect);
                        CHECK(stat(p, &want) == 0);
                }
                CHECK(kernel_error == cases[i].error && walked_error == cases[i].error);
                CHECK(kernel.st_dev == want.st_dev && kernel.st_ino == want.st_ino);
                CHECK(walked.st_dev == want.st_dev && walked.st_ino == want.st_ino);
        }

        /* stat and readlink go through the same lookups */
        struct stat st;
        char buf[64];
        CHECK(chase_stat(root_fd, "abs", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 11);
        CHECK(chase_readlink(root_fd, "dirlink/b/parent", buf, sizeof(buf)) == 2 && streq(buf, ".."));
        CHECK(chase_readlink(root_fd, "abs", buf, sizeof(buf)) == 9 && streq(buf, "/a/b/file"));
        CHECK(chase_readlink(root_fd, "a/b/file", buf, sizeof(buf)) == -EINVAL);

        /* no root: the host's paths, as ever */
        CHECK(chase_root_open(NULL) == AT_FDCWD && chase_root_open("/") == AT_FDCWD);
        CHECK(chase_stat(AT_FDCWD, "/", &st) == 0 && S_ISDIR(st.st_mode));

        chase_root_close(root_fd);
        test_tmpdir_remove(root);
}

int main(void) {
        RUN(test_root);
        return 0;
}
