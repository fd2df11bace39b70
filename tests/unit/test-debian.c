/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The descriptors Debian's ovmf and qemu-efi-aarch64 packages ship, read from where they are installed. */

#include "resolver.h"
#include "tests.h"

static const char *const debian_names[] = {
        "40-edk2-aarch64-secure-enrolled.json", "40-edk2-x86_64-secure-enrolled.json",
        "50-edk2-aarch64-secure.json",          "50-edk2-x86_64-secure.json",
        "60-edk2-aarch64.json",                 "60-edk2-x86_64.json",
};
static const char *const dirs[] = { "/usr/share/qemu/firmware", NULL };
static Catalogue *cat;

static void test_all_valid(void) {
        for (size_t i = 0; i < ELEMENTSOF(debian_names); i++) {
                const Entry *e = catalogue_find(cat, debian_names[i]);

                CHECK(e);
                if (e->state != ENTRY_VALID)
                        fprintf(stderr, "%s: %s\n", e->name, e->descriptor->problems[0].message);
                CHECK(e->state == ENTRY_VALID);
                /* Debian's files are clean: not even a warning */
                CHECK(e->descriptor->n_problems == 0);
        }
}

static const char *resolve_q35(const char *feature, bool want, int smm) {
        _cleanup_(request_done) Request r = {
                .has_architecture = true,
                .architecture = ARCH_X86_64,
                .machine = strdup("pc-q35-8.2"),
                .has_smm = smm >= 0,
                .smm = smm > 0,
        };
        const Entry *e = NULL;

        if (feature)
                CHECK(request_set_feature(&r, feature, want) == 0);
        CHECK(resolver_resolve(cat, &r, &e) == 1);
        return e->name;
}

static void test_q35(void) {
        CHECK_STREQ(resolve_q35(NULL, false, -1), "40-edk2-x86_64-secure-enrolled.json");
        CHECK_STREQ(resolve_q35("enrolled-keys", false, -1), "50-edk2-x86_64-secure.json");
        CHECK_STREQ(resolve_q35("secure-boot", false, -1), "60-edk2-x86_64.json");
        CHECK_STREQ(resolve_q35(NULL, false, 0), "60-edk2-x86_64.json");
        CHECK_STREQ(resolve_q35("secure-boot", true, 1), "40-edk2-x86_64-secure-enrolled.json");
}

int main(void) {
        for (size_t i = 0; i < ELEMENTSOF(debian_names); i++) {
                _cleanup_(freep) char *p = path_join(dirs[0], debian_names[i]);
                if (access(p, R_OK) < 0) {
                        fprintf(stderr, "'%s' is not installed (apt-get install ovmf qemu-efi-aarch64), skipping.\n", p);
                        return EXIT_TEST_SKIP;
                }
        }
        CHECK(catalogue_build((char **) dirs, NULL, NULL, &cat) == 0);

        RUN(test_all_valid);
        RUN(test_q35);

        catalogue_free(cat);
        return 0;
}
