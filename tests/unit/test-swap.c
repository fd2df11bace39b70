/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The file system calls the core makes, watched through --wrap. A descriptor swapped for a FIFO (or a device)
 * between the catalogue's look at it and its opening for reading: the swap happens right after the first
 * call that reaches it by name, and every file opened for reading is checked; nothing but a regular file (or
 * a directory) may ever be opened. And a caller's paths are looked up once per request, not per entry. */

#include <fcntl.h>
#include <sys/stat.h>

#include "catalogue/catalogue.h"
#include "resolver/resolver.h"
#include "tests.h"

static const char *swap_name;           /* the entry to swap, by its name in the directory */
static char *swap_path;                 /* and its full path */
static bool swapped, opened_special;
static unsigned n_stat;

int __real_stat64(const char *path, struct stat *st);
int __wrap_stat64(const char *path, struct stat *st);

int __wrap_stat64(const char *path, struct stat *st) {
        n_stat++;
        return __real_stat64(path, st);
}

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
        _cleanup_(freep) char *dir = NULL;
        const Entry *e;

        test_write_file(root, "usr/share/qemu/firmware/50-swap.json", "{ \"interface-types\": [ \"uefi\" ] }");
        swap_path = strdup_printf("%s/usr/share/qemu/firmware/50-swap.json", root);
        CHECK(swap_path);
        swap_name = "50-swap.json";

        /* the host's way (no --root): a root's paths are opened with openat2(), which --wrap cannot see */
        dir = strdup_printf("%s/usr/share/qemu/firmware", root);
        CHECK(dir);
        CHECK(catalogue_build((char *[]) { dir, NULL }, NULL, NULL, &c) == 0);
        CHECK(swapped);
        CHECK(!opened_special);
        /* what was read is the file that was looked at */
        e = catalogue_find(c, "50-swap.json");
        CHECK(e && e->descriptor && !e->descriptor->unreadable);

        swap_name = NULL;
        free(swap_path);
        test_tmpdir_remove(root);
}

static void test_request_paths_looked_up_once(void) {
        _cleanup_(freep) char *root = test_tmpdir_new();
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        _cleanup_(request_done) Request req = {};
        _cleanup_(freep) char *dir = NULL, *flash = NULL;
        unsigned before;

        /* on the host's paths (no --root), where a look-up is a stat() that --wrap counts */
        CHECK(root);
        dir = strdup_printf("%s/usr/share/qemu/firmware", root);
        flash = strdup_printf(
                "{ \"description\": \"d\", \"interface-types\": [ \"uefi\" ],\n"
                "  \"mapping\": { \"device\": \"flash\",\n"
                "    \"executable\": { \"filename\": \"%s/fw/CODE.fd\", \"format\": \"raw\" },\n"
                "    \"nvram-template\": { \"filename\": \"%s/fw/VARS.fd\", \"format\": \"raw\" } },\n"
                "  \"targets\": [ { \"architecture\": \"x86_64\", \"machines\": [ \"pc-q35-*\" ] } ],\n"
                "  \"features\": [], \"tags\": [] }\n", root, root);
        CHECK(dir && flash);
        for (int i = 0; i < 20; i++) {
                _cleanup_(freep) char *name = strdup_printf("usr/share/qemu/firmware/%02d.json", i);
                test_write_file(root, name, flash);
        }
        test_write_file(root, "fw/CODE.fd", "code");
        test_write_file(root, "fw/VARS.fd", "vars");
        CHECK(catalogue_build((char *[]) { dir, NULL }, NULL, NULL, &c) == 0);
        CHECK(c->n_valid == 20);

        req.executable = strdup_printf("%s/fw/CODE.fd", root);
        req.nvram_template = strdup_printf("%s/fw/VARS.fd", root);
        CHECK(req.executable && req.nvram_template);
        before = n_stat;
        request_look_up_paths(&req, c);
        CHECK(n_stat == before + 2);
        for (size_t i = 0; i < c->n_entries; i++)
                CHECK(resolver_match(c, &c->entries[i], &req, REQUEST_FILTER, NULL) == 1);
        CHECK(n_stat == before + 2);
        test_tmpdir_remove(root);
}

int main(void) {
        RUN(test_swapped_for_a_fifo);
        RUN(test_request_paths_looked_up_once);
        return 0;
}
