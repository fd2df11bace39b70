/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Out of memory at every allocation the catalogue makes: linked with --wrap for the allocator, so that the
 * Nth call fails. Every build and update must then return -ENOMEM (nothing else), leave its result alone
 * and leak nothing (the sanitizer and valgrind runs check that), or succeed. */

#include <fcntl.h>
#include <unistd.h>

#include "catalogue/catalogue.h"
#include "efi-builder.h"

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

/* A template with the test certificate in PK, KEK and db: its keys are read with the rest of its facts. */
static void write_enrolled_store(const char *root, const char *relative) {
        _cleanup_(freep) char *der_path = test_data_path("efi/test-pk.der"), *path = path_join(root, relative);
        _cleanup_(bytes_done) Bytes list = {}, vars = {}, file = {};
        EfiGuid global = guid("8be4df61-93ca-11d2-aa0d-00e098032b8c"),
                security = guid("d719b2cb-3d3a-4596-a3bc-dad00e67656f"),
                x509 = guid("a5c059a1-94e4-4aa7-87b5-ab155c2bf072"),
                owner = guid("77fa9abd-0359-4d32-bd60-28f4e78f784b");
        _cleanup_(freep) uint8_t *der = NULL;
        size_t n;
        int fd;

        der = (uint8_t *) test_read_file(der_path, &n);
        put_signature_list(&list, &x509, (uint32_t) (28 + 16 + n), 0, (uint32_t) (16 + n), &owner, der, n, 1);
        put_variable(&vars, true, 0x3f, "PK", &global, list.p, list.n);
        put_variable(&vars, true, 0x3f, "KEK", &global, list.p, list.n);
        put_variable(&vars, true, 0x3f, "db", &security, list.p, list.n);
        make_volume(&file, true, 0x8000, 0x8000, 0, &vars);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(fd >= 0);
        CHECK(write(fd, file.p, file.n) == (ssize_t) file.n);
        CHECK(close(fd) == 0);
}

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
        write_enrolled_store(root, "fw/VARS.fd");
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
        /* the keys were read: the runs went through them */
        {
                Catalogue *c = NULL;

                CHECK(catalogue_build((char **) dirs, root, NULL, &c) == 0);
                CHECK(strv_length(catalogue_find(c, "50-a.json")->vars.facts->certificates) == 3);
                catalogue_free(c);
        }
        CHECK(n_runs > 50);
        test_tmpdir_remove(root);
}

int main(void) {
        RUN(test_build_out_of_memory);
        return 0;
}
