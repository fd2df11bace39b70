/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A descriptor swapped for a FIFO (or a device) between the catalogue's look at it and its opening for
 * reading: linked with --wrap for the calls that reach a file by name, so that the swap happens right after
 * the first one, and so that every file opened for reading is checked. Nothing but a regular file (or a
 * directory) may ever be opened. */

#include <fcntl.h>
#include <sys/stat.h>

#include "catalogue.h"
#include "tests.h"

static const char *swap_name;           /* the entry to swap, by its name in the directory */
static char *swap_path;                 /* and its full path */
static bool swapped, opened_special;

int __real_openat64(int dirfd, const char *name, int flags, ...);
int __real_open64(const char *path, int flags, ...);
int __real_fstatat64(int dirfd, const char *name, struct stat *st, int flags);
int __wrap_openat64(int dirfd, const char *name, int flags, ...);
int __wrap_open64(const char *path, int flags, ...);
int __wrap_fstatat64(int dirfd, const char *name, struct stat *st, int flags);

static void swap_after(const char *name) {
        if (swapped || !swap_name || !streq(name, swap_name))
                return;
        swapped = true;
        CHECK(unlink(swap_path) == 0);
        CHECK(mkfifo(swap_path, 0644) == 0);
}

static void check_opened(int fd, int flags) {
        struct stat st;

        if (fd < 0 || (flags & O_PATH))
                return;
        CHECK(fstat(fd, &st) == 0);
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
                opened_special = true;
}

int __wrap_openat64(int dirfd, const char *name, int flags, ...) {
        int fd = __real_openat64(dirfd, name, flags, 0);
        check_opened(fd, flags);
        swap_after(name);
        return fd;
}

int __wrap_open64(const char *path, int flags, ...) {
        int fd = __real_open64(path, flags, 0);
        check_opened(fd, flags);
        return fd;
}

int __wrap_fstatat64(int dirfd, const char *name, struct stat *st, int flags) {
        int r = __real_fstatat64(dirfd, name, st, flags);
        swap_after(name);
        return r;
}

static void test_swapped_for_a_fifo(void) {
        _cleanup_(freep) char *root = test_tmpdir_new();
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        static const char *const dirs[] = { "/usr/share/qemu/firmware", NULL };
        const Entry *e;

        test_write_file(root, "usr/share/qemu/firmware/50-swap.json", "{ \"interface-types\": [ \"uefi\" ] }");
        swap_path = strdup_printf("%s/usr/share/qemu/firmware/50-swap.json", root);
        CHECK(swap_path);
        swap_name = "50-swap.json";

        CHECK(catalogue_build((char **) dirs, root, NULL, &c) == 0);
        CHECK(swapped);
        CHECK(!opened_special);
        /* what was read is the file that was looked at */
        e = catalogue_find(c, "50-swap.json");
        CHECK(e && e->descriptor && !e->descriptor->unreadable);

        swap_name = NULL;
        free(swap_path);
        test_tmpdir_remove(root);
}

int main(void) {
        RUN(test_swapped_for_a_fifo);
        return 0;
}
