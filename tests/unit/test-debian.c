/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The descriptors Debian's ovmf and qemu-efi-aarch64 packages ship, read from where they are installed. */

#include <fcntl.h>
#include <inttypes.h>

#include "resolver/resolver.h"
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

/* Resolves for a VM whose varstore is a copy of one of Debian's templates (or a blank 64 MiB file). Returns
 * the name selected, or NULL with the NoMatch text in *ret_why. */
static const char *resolve_nvram(const char *store, Architecture arch, const char *machine, char **ret_why) {
        _cleanup_(request_done) Request r = {
                .has_architecture = true,
                .architecture = arch,
                .machine = strdup(machine),
        };
        const Entry *e = NULL;
        int fd;

        if (store) {
                fd = open(store, O_RDONLY | O_CLOEXEC);
                CHECK(fd >= 0);
                CHECK(varstore_read_fd(fd, &r.nvram) == 0);
                close(fd);
        } else
                r.nvram = (Varstore) { .format = VARSTORE_BLANK, .file_size = 64 << 20, .size = 64 << 20 };
        r.has_nvram = true;
        r.nvram_fd = -1;
        if (resolver_resolve(cat, &r, &e) == 1)
                return e->name;

        _cleanup_(explanation_done) Explanation x = {};
        CHECK(resolver_explain(cat, &r, &x) == 0);
        *ret_why = explanation_summary(&x, &r);
        return NULL;
}

static void test_nvram(void) {
        _cleanup_(freep) char *why = NULL;

        if (access("/usr/share/OVMF/OVMF_VARS.ms.fd", R_OK) < 0)
                return;
        /* a VM made with the 2 MiB build: none of the 4 MiB descriptors takes its varstore */
        CHECK(!resolve_nvram("/usr/share/OVMF/OVMF_VARS.ms.fd", ARCH_X86_64, "pc-q35-8.2", &why));
        fprintf(stderr, "%s\n", why);
        CHECK(strstr(why, "nvram=(edk2-authenticated volume 0x20000, 131072 bytes)"));
        CHECK(strstr(why, "edk2-authenticated volume 0x84000, 540672 bytes (40-edk2-x86_64-secure-enrolled.json, "
                          "50-edk2-x86_64-secure.json, 60-edk2-x86_64.json)"));
        CHECK_STREQ(resolve_nvram("/usr/share/OVMF/OVMF_VARS_4M.ms.fd", ARCH_X86_64, "pc-q35-8.2", &why),
                    "40-edk2-x86_64-secure-enrolled.json");
        CHECK_STREQ(resolve_nvram(NULL, ARCH_AARCH64, "virt-8.2", &why), "40-edk2-aarch64-secure-enrolled.json");
        CHECK_STREQ(resolve_nvram("/usr/share/AAVMF/AAVMF_VARS.fd", ARCH_AARCH64, "virt-8.2", &why),
                    "40-edk2-aarch64-secure-enrolled.json");
}

/* The facts of Debian's images, compared by the test command with sha256sum's. */
static void test_facts(void) {
        for (size_t i = 0; i < ELEMENTSOF(debian_names); i++) {
                const Entry *e = catalogue_find(cat, debian_names[i]);
                const ImageFacts *f = e->image.facts, *v = e->vars.facts;

                CHECK(v);
                fprintf(stderr, "%s: %s %s %" PRIu64 " | %s %s %" PRIu64 " %s 0x%" PRIx64 "\n", e->name,
                        descriptor_image(e->descriptor), f ? f->sha256 : "-", f ? f->size : 0,
                        descriptor_vars_template(e->descriptor), v->sha256, v->size,
                        varstore_format_to_string(v->varstore.format), v->varstore.volume_size);
                CHECK(strlen(v->sha256) == 64);
        }
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
        RUN(test_nvram);
        RUN(test_facts);

        catalogue_free(cat);
        return 0;
}
