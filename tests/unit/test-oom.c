/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Out of memory at every allocation the catalogue makes: linked with --wrap for the allocator, so that the
 * Nth call fails. Every build and update must then return -ENOMEM (nothing else), leave its result alone
 * and leak nothing (the sanitizer and valgrind runs check that), or succeed. */

#include "catalogue/catalogue.h"
#include "tests.h"

static long countdown = -1;     /* allocations until the one that fails; -1: none fails */
static unsigned long n_failed;

static bool fail_now(void) {
        if (countdown < 0)
                return false;
        if (countdown-- > 0)
                return false;
        n_failed++;
        return true;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n) {
        return fail_now() ? NULL : __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t size) {
        return fail_now() ? NULL : __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n) {
        return fail_now() ? NULL : __real_realloc(p, n);
}
char *__wrap_strdup(const char *s) {
        return fail_now() ? NULL : __real_strdup(s);
}
char *__wrap_strndup(const char *s, size_t n) {
        return fail_now() ? NULL : __real_strndup(s, n);
}

static const char *const dirs[] = { "/usr/share/qemu/firmware", "/etc/qemu/firmware", NULL };

static void write_tree(const char *root) {
        static const char *const flash =
                "{ \"description\": \"d\", \"interface-types\": [ \"uefi\" ],\n"
                "  \"mapping\": { \"device\": \"flash\",\n"
                "    \"executable\": { \"filename\": \"/fw/CODE.fd\", \"format\": \"raw\" },\n"
                "    \"nvram-template\": { \"filename\": \"/fw/VARS.fd\", \"format\": \"raw\" } },\n"
                "  \"targets\": [ { \"architecture\": \"x86_64\", \"machines\": [ \"pc-q35-*\" ] } ],\n"
                "  \"features\": [ \"secure-boot\", \"x-new\" ], \"tags\": [] }\n";

        test_write_file(root, "usr/share/qemu/firmware/50-a.json", flash);
        test_write_file(root, "usr/share/qemu/firmware/60-b.json", flash);
        test_write_file(root, "etc/qemu/firmware/60-b.json", flash);
        test_write_file(root, "etc/qemu/firmware/70-masked.json", "");
        test_write_file(root, "usr/share/qemu/firmware/80-invalid.json", "{ \"interface-types\": [ \"efi\" ] }");
        test_write_file(root, "usr/share/qemu/firmware/81-caf\xe9.json", "{}");
        test_symlink("/nonexistent/\xff.json", root, "usr/share/qemu/firmware/82-dangling.json");
        test_write_file(root, "fw/CODE.fd", "code");
        test_write_file(root, "fw/VARS.fd", "vars");
}

static void test_build_out_of_memory(void) {
        _cleanup_(freep) char *root = test_tmpdir_new();
        unsigned long n_runs = 0;

        write_tree(root);
        for (long n = 0;; n++) {
                Catalogue *c = (Catalogue *) 0x1, *u = (Catalogue *) 0x1;
                int r;

                n_failed = 0;
                countdown = n;
                r = catalogue_build((char **) dirs, root, NULL, &c);
                if (r >= 0)
                        r = catalogue_update(c, (char *[]) { (char *) "50-a.json", (char *) "81-caf\xe9.json",
                                                             NULL }, true, &u);
                countdown = -1;
                n_runs++;
                CHECK(r == 0 || r == -ENOMEM);
                if (r < 0)
                        CHECK(c == (Catalogue *) 0x1 || u == (Catalogue *) 0x1);
                if (c != (Catalogue *) 0x1)
                        catalogue_free(c);
                if (u != (Catalogue *) 0x1)
                        catalogue_free(u);
                if (n_failed == 0)
                        break;          /* past the last allocation: everything was tried */
        }
        fprintf(stderr, "   %lu runs, each with one allocation failing\n", n_runs);
        CHECK(n_runs > 50);
        test_tmpdir_remove(root);
}

int main(void) {
        RUN(test_build_out_of_memory);
        return 0;
}
