/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Runs a fuzz target over files and directories of inputs, without libFuzzer: the seed corpus and every
 * crash reproducer run as an ordinary test, under every compiler and sanitizer of the test command. */

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "util/util.h"

static int run_file(const char *path, size_t *count) {
        _cleanup_(freep) uint8_t *buf = NULL;
        FILE *f = fopen(path, "re");
        size_t size = 0, n;

        if (!f)
                return -errno;
        buf = malloc(FUZZ_INPUT_MAX + 1);
        if (!buf) {
                fclose(f);
                return -ENOMEM;
        }
        while (size <= FUZZ_INPUT_MAX && (n = fread(buf + size, 1, FUZZ_INPUT_MAX + 1 - size, f)) > 0)
                size += n;
        fclose(f);
        LLVMFuzzerTestOneInput(buf, size);
        (*count)++;
        return 0;
}

static int run_path(const char *path, size_t *count) {
        struct stat st;
        DIR *d;
        int r = 0;

        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return run_file(path, count);
        d = opendir(path);
        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d)) && r >= 0;) {
                _cleanup_(freep) char *p = NULL;

                if (de->d_name[0] == '.')
                        continue;
                p = path_join(path, de->d_name);
                r = p ? run_path(p, count) : -ENOMEM;
        }
        closedir(d);
        return r;
}

int main(int argc, char *argv[]) {
        size_t count = 0;

        for (int i = 1; i < argc; i++) {
                int r = run_path(argv[i], &count);
                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
                        return EXIT_FAILURE;
                }
        }
        printf("%zu inputs replayed\n", count);
        return count > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
