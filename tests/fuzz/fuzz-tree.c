/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The catalogue scan over a tree made from the input: two search directories filled with files whose
 * names, kinds (descriptors, arbitrary bytes, empty masks, symlinks to /dev/null, to other entries or to
 * nothing, directories, FIFOs) and contents the input chooses. catalogue_build() scans it, then
 * catalogue_update() looks at some names again after the tree changed, and catalogue_diff() and
 * catalogue_find() run over the results. The tree lives in a temporary directory, emptied for each input. */

#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalogue/catalogue.h"
#include "fuzz-util.h"

static char base[64];
static char *dirs[3];
static volatile size_t sink;

static const char descriptor_json[] =
        "{\"interface-types\":[\"uefi\"],\"mapping\":{\"device\":\"flash\",\"executable\":{\"filename\":"
        "\"/dev/null\",\"format\":\"raw\"},\"nvram-template\":{\"filename\":\"/nonexistent\",\"format\":"
        "\"raw\"}},\"targets\":[{\"architecture\":\"x86_64\",\"machines\":[\"pc-q35-*\"]}],\"features\":[],"
        "\"tags\":[]}";

/* A file name from the input: 1 to 32 bytes, '/' and NUL replaced, "." and ".." avoided. */
static void take_name(FuzzInput *in, char buf[static 40]) {
        size_t len = fuzz_take_byte(in) % 32 + 1;

        for (size_t i = 0; i < len; i++) {
                uint8_t c = fuzz_take_byte(in);
                buf[i] = c == '/' || c == 0 ? '_' : (char) c;
        }
        buf[len] = 0;
        if (streq(buf, ".") || streq(buf, ".."))
                buf[0] = 'd';
}

static void empty_dir(const char *path) {
        DIR *d = opendir(path);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
                    unlinkat(dirfd(d), de->d_name, 0) < 0)
                        (void) unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
        closedir(d);
}

static void make_entry(FuzzInput *in, char *names[], size_t *n_names) {
        int dfd = open(dirs[fuzz_take_byte(in) & 1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        uint8_t kind = fuzz_take_byte(in) % 9;
        char name[40], other[40];
        int fd;

        if (dfd < 0)
                return;
        take_name(in, name);
        (void) unlinkat(dfd, name, 0);
        (void) unlinkat(dfd, name, AT_REMOVEDIR);
        switch (kind) {
        case 0: case 1:                 /* a descriptor, maybe cut short */
        case 2: {                       /* arbitrary bytes */
                size_t len = kind == 2 ? fuzz_take_byte(in) :
                             sizeof(descriptor_json) - 1 - (kind == 1 ? fuzz_take_byte(in) % 64 : 0);
                fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0)
                        break;
                if (kind == 2) {
                        uint8_t bytes[256];
                        (void) !write(fd, bytes, fuzz_take_bytes(in, bytes, len));
                } else
                        (void) !write(fd, descriptor_json, len);
                close(fd);
                break;
        }
        case 3:                         /* a mask */
                fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd >= 0)
                        close(fd);
                break;
        case 4:
                (void) symlinkat("/dev/null", dfd, name);
                break;
        case 5:                         /* to another entry, maybe in the other directory, maybe not there */
                take_name(in, other);
                (void) symlinkat(fuzz_take_byte(in) & 1 ? other : "../a/x.json", dfd, name);
                break;
        case 6:
                (void) symlinkat(name, dfd, name);      /* a loop */
                break;
        case 7:
                (void) mkdirat(dfd, name, 0755);
                break;
        default:
                (void) mkfifoat(dfd, name, 0644);
                break;
        }
        close(dfd);
        if (*n_names < 64)
                names[(*n_names)++] = strdup(name);
}

static void remove_tree(void) {
        for (int i = 0; i < 2; i++) {
                empty_dir(dirs[i]);
                (void) rmdir(dirs[i]);
                free(dirs[i]);
        }
        (void) rmdir(base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(catalogue_freep) Catalogue *c = NULL, *u = NULL;
        _cleanup_(strv_freep) char **added = NULL, **removed = NULL, **modified = NULL;
        char *names[65] = {};
        size_t n_names = 0;
        FuzzInput in = { data, size };

        if (size > 16384)
                return 0;
        if (!dirs[0]) {
                snprintf(base, sizeof(base), "%s/fuzz-tree-XXXXXX",
                         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
                if (!mkdtemp(base))
                        abort();
                dirs[0] = path_join(base, "a");
                dirs[1] = path_join(base, "b");
                if (!dirs[0] || !dirs[1] || mkdir(dirs[0], 0755) < 0 || mkdir(dirs[1], 0755) < 0)
                        abort();
                atexit(remove_tree);
        }
        empty_dir(dirs[0]);
        empty_dir(dirs[1]);

        /* the tree, then a catalogue of it, then changes and an update that looks at the changed names */
        while (in.n > 0 && !(in.n > 0 && in.p[0] == 0xff && (in.p++, in.n--, true)))
                make_entry(&in, names, &n_names);
        if (catalogue_build(dirs, NULL, NULL, &c) < 0)
                goto finish;
        size_t first = n_names;
        while (in.n > 0)
                make_entry(&in, names, &n_names);
        if (catalogue_update(c, names + first, true, &u) < 0)
                goto finish;
        if (catalogue_diff(c, u, &added, &removed, &modified) < 0)
                goto finish;
        for (size_t i = 0; i < u->n_entries; i++) {
                assert(catalogue_find(u, u->entries[i].name) == &u->entries[i]);
                assert(i == 0 || strcmp(u->entries[i - 1].name, u->entries[i].name) < 0);
        }
        for (size_t i = 0; i < n_names; i++)
                sink += catalogue_find(c, names[i]) != NULL;
finish:
        for (size_t i = 0; i < n_names; i++)
                free(names[i]);
        return 0;
}
