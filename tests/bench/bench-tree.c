/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

#include "bench-tree.h"

/* One kind of firmware build, as a distribution or a vendor would ship it. */
typedef struct Variant {
        const char *description;
        const char *architecture;
        const char *interfaces[3];
        const char *device;
        const char *mode;               /* NULL: not written, i.e. split */
        const char *image, *image_format;       /* flash executable, or the memory/kernel/igvm file */
        const char *vars, *vars_format;         /* flash nvram template, or memory uefi-vars template */
        const char *machines[4];
        const char *features[8];
} Variant;

#define FLASH_SPLIT(img, var, fmt) .device = "flash", .image = (img), .image_format = (fmt), .vars = (var), \
                                   .vars_format = (fmt)

/* Debian's ovmf and qemu-efi-aarch64 set, images moved below FW. Names sort first: ranks 0 to 5. */
static const char *const distribution_names[] = {
        "40-edk2-aarch64-secure-enrolled.json", EXPECTED,
        "50-edk2-aarch64-secure.json",          "50-edk2-x86_64-secure.json",
        "60-edk2-aarch64.json",                 "60-edk2-x86_64.json",
};

static const Variant distribution[] = {
        { "UEFI firmware for aarch64, with Secure Boot, SB enabled, MS certs enrolled", "aarch64", { "uefi" },
          FLASH_SPLIT(FW "AAVMF/AAVMF_CODE.ms.fd", FW "AAVMF/AAVMF_VARS.ms.fd", "raw"),
          .machines = { "virt-*" }, .features = { "enrolled-keys", "secure-boot", "verbose-static" } },
        { "UEFI firmware for x86_64, with Secure Boot and SMM, SB enabled, MS certs enrolled", "x86_64",
          { "uefi" }, FLASH_SPLIT(FW "OVMF/OVMF_CODE_4M.ms.fd", FW "OVMF/OVMF_VARS_4M.ms.fd", "raw"),
          .machines = { "pc-q35-*" },
          .features = { "acpi-s3", "amd-sev", "enrolled-keys", "requires-smm", "secure-boot",
                        "verbose-dynamic" } },
        { "UEFI firmware for aarch64, with Secure Boot, SB enabled, empty varstore", "aarch64", { "uefi" },
          FLASH_SPLIT(FW "AAVMF/AAVMF_CODE.secboot.fd", FW "AAVMF/AAVMF_VARS.fd", "raw"),
          .machines = { "virt-*" }, .features = { "secure-boot", "verbose-static" } },
        { "UEFI firmware for x86_64, with Secure Boot and SMM, empty varstore", "x86_64", { "uefi" },
          FLASH_SPLIT(FW "OVMF/OVMF_CODE_4M.secboot.fd", FW "OVMF/OVMF_VARS_4M.fd", "raw"),
          .machines = { "pc-q35-*" },
          .features = { "acpi-s3", "amd-sev", "requires-smm", "secure-boot", "verbose-dynamic" } },
        { "UEFI firmware for aarch64", "aarch64", { "uefi" },
          FLASH_SPLIT(FW "AAVMF/AAVMF_CODE.fd", FW "AAVMF/AAVMF_VARS.fd", "raw"), .machines = { "virt-*" },
          .features = { "verbose-static" } },
        { "UEFI firmware for x86_64, without Secure Boot without SMM, with empty varstore", "x86_64",
          { "uefi" }, FLASH_SPLIT(FW "OVMF/OVMF_CODE_4M.fd", FW "OVMF/OVMF_VARS_4M.fd", "raw"),
          .machines = { "pc-i440fx-*", "pc-q35-*" },
          .features = { "acpi-s3", "amd-sev", "verbose-dynamic" } },
};

/* What the generated bulk is drawn from: every architecture, interface, device and flash mode. */
static const Variant bulk_variants[] = {
        { "OVMF for x86_64, Secure Boot and SMM, vendor keys enrolled", "x86_64", { "uefi" },
          FLASH_SPLIT(FW "OVMF/OVMF_CODE_4M.secboot.fd", FW "OVMF/OVMF_VARS_4M.ms.fd", "raw"),
          .machines = { "pc-q35-*" },
          .features = { "acpi-s3", "amd-sev", "enrolled-keys", "requires-smm", "secure-boot",
                        "verbose-dynamic" } },
        { "OVMF for x86_64, Secure Boot and SMM, qcow2 images", "x86_64", { "uefi" },
          FLASH_SPLIT(FW "OVMF/OVMF_CODE_4M.secboot.qcow2", FW "OVMF/OVMF_VARS_4M.qcow2", "qcow2"),
          .machines = { "pc-q35-*" }, .features = { "acpi-s3", "requires-smm", "secure-boot" } },
        { "OVMF for x86_64, no Secure Boot", "x86_64", { "uefi" },
          FLASH_SPLIT(FW "OVMF/OVMF_CODE_4M.fd", FW "OVMF/OVMF_VARS_4M.fd", "raw"),
          .machines = { "pc-i440fx-*", "pc-q35-*" },
          .features = { "acpi-s3", "acpi-s4", "verbose-dynamic" } },
        { "OVMF for Intel TDX guests, stateless", "x86_64", { "uefi" }, "flash", "stateless",
          FW "OVMF/OVMF.inteltdx.fd", "raw", .machines = { "pc-q35-*" },
          .features = { "intel-tdx", "verbose-static" } },
        { "OVMF for AMD SEV guests, stateless", "x86_64", { "uefi" }, "flash", "stateless",
          FW "OVMF/OVMF.amdsev.fd", "raw", .machines = { "pc-q35-*" },
          .features = { "amd-sev", "amd-sev-es", "amd-sev-snp", "verbose-static" } },
        { "OVMF for x86_64, combined code and variables (2 MiB)", "x86_64", { "uefi" }, "flash", "combined",
          FW "OVMF/OVMF.fd", "raw", .machines = { "pc-i440fx-*", "pc-q35-*" }, .features = { "acpi-s3" } },
        { "SeaBIOS for x86_64", "x86_64", { "bios" }, "memory", .image = FW "seabios/bios-256k.bin",
          .machines = { "pc-i440fx-*", "pc-q35-*" }, .features = { "acpi-s3", "acpi-s4" } },
        { "OVMF for x86_64 with variables kept by the host", "x86_64", { "uefi" }, "memory",
          .image = FW "OVMF/OVMF.hostvars.fd", .vars = FW "OVMF/OVMF_VARS.json",
          .machines = { "pc-q35-*" }, .features = { "host-uefi-vars", "verbose-dynamic" } },
        { "OVMF for AMD SEV-SNP guests, IGVM", "x86_64", { "uefi" }, "igvm", .image = FW "OVMF/OVMF.snp.igvm",
          .machines = { "pc-q35-*" }, .features = { "amd-sev-snp" } },
        { "OVMF for i386, Secure Boot and SMM", "i386", { "uefi" },
          FLASH_SPLIT(FW "OVMF/OVMF32_CODE_4M.secboot.fd", FW "OVMF/OVMF32_VARS_4M.fd", "raw"),
          .machines = { "pc-q35-*" }, .features = { "acpi-s3", "requires-smm", "secure-boot" } },
        { "SeaBIOS for i386", "i386", { "bios" }, "memory", .image = FW "seabios/bios.bin",
          .machines = { "pc-i440fx-*", "pc-q35-*", "isapc" }, .features = { "acpi-s3" } },
        { "AAVMF for aarch64", "aarch64", { "uefi" },
          FLASH_SPLIT(FW "AAVMF/AAVMF_CODE.fd", FW "AAVMF/AAVMF_VARS.fd", "raw"), .machines = { "virt-*" },
          .features = { "verbose-static" } },
        { "AAVMF for aarch64, Secure Boot, qcow2 images", "aarch64", { "uefi" },
          FLASH_SPLIT(FW "AAVMF/AAVMF_CODE.secboot.qcow2", FW "AAVMF/AAVMF_VARS.qcow2", "qcow2"),
          .machines = { "virt-*" }, .features = { "enrolled-keys", "secure-boot", "verbose-static" } },
        { "AAVMF for Arm CCA realms, stateless", "aarch64", { "uefi" }, "flash", "stateless",
          FW "AAVMF/AAVMF.cca.fd", "raw", .machines = { "virt-*" },
          .features = { "arm-cca", "verbose-static" } },
        { "AAVMF for 32-bit arm", "arm", { "uefi" },
          FLASH_SPLIT(FW "AAVMF/AAVMF32_CODE.fd", FW "AAVMF/AAVMF32_VARS.fd", "raw"),
          .machines = { "virt-*" }, .features = { "verbose-static" } },
        { "EDK II for riscv64", "riscv64", { "uefi" },
          FLASH_SPLIT(FW "riscv/RISCV_VIRT_CODE.fd", FW "riscv/RISCV_VIRT_VARS.fd", "raw"),
          .machines = { "virt" }, .features = { "verbose-static" } },
        { "U-Boot for riscv64, S-mode", "riscv64", { "uboot" }, "kernel",
          .image = FW "u-boot/qemu-riscv64_smode/u-boot.bin", .machines = { "virt", "virt-*" } },
        { "EDK II for loongarch64", "loongarch64", { "uefi" },
          FLASH_SPLIT(FW "loongarch/QEMU_EFI.fd", FW "loongarch/QEMU_VARS.fd", "raw"), .machines = { "virt" },
          .features = { "verbose-dynamic" } },
};

/* The decoys' variant: EXPECTED's but for its machine globs. */
static const Variant decoy_variant = {
        "OVMF for x86_64, Secure Boot and SMM, MS certs enrolled, one machine type", "x86_64", { "uefi" },
        FLASH_SPLIT(FW "OVMF/OVMF_CODE_4M.ms.fd", FW "OVMF/OVMF_VARS_4M.ms.fd", "raw"),
        .features = { "acpi-s3", "amd-sev", "enrolled-keys", "requires-smm", "secure-boot", "verbose-dynamic" },
};

static const char *const request_machines[] = {
        "pc-q35-9.0", "pc-q35-9.1", "pc-q35-9.2", "pc-q35-10.0", "pc-q35-10.1", "pc-q35-10.2", "pc-q35-11.0",
        "pc-q35-11.1",
};

const char *tree_machine(unsigned i) {
        return request_machines[i % ELEMENTSOF(request_machines)];
}

/* How one generated file departs from its variant. */
typedef struct Variation {
        unsigned build;                 /* 0: a distribution file, shown as is */
        bool narrow;                    /* versioned machine globs instead of "family-*" */
        bool tagged;
        bool broken;                    /* an unknown device: listed as invalid */
        bool missing_image;             /* refers to an image that is not installed */
        const char *origin;             /* NULL, or who wrote it ("local") */
        unsigned decoy;                 /* > 0: the machine globs of the k-th decoy */
        unsigned revision;              /* > 0 after an incremental change: also pads the file */
} Variation;

static void render_list(StrBuf *b, const char *indent, const char *const *items, size_t max) {
        size_t n = 0;

        while (n < max && items[n])
                n++;
        strbuf_puts(b, "[");
        for (size_t i = 0; i < n; i++)
                strbuf_printf(b, "%s\n%s    \"%s\"", i > 0 ? "," : "", indent, items[i]);
        strbuf_printf(b, "%s%s]", n > 0 ? "\n" : "", n > 0 ? indent : "");
}

static void render_machines(StrBuf *b, const Variant *v, const Variation *x) {
        const char *narrowed[ELEMENTSOF(v->machines) * 2] = {};
        char buf[ELEMENTSOF(v->machines) * 2][64];
        size_t n = 0;

        if (x->decoy > 0) {
                /* older versioned types and a downstream one: what a build per machine type lists */
                unsigned k = x->decoy;
                snprintf(buf[0], sizeof(buf[0]), "pc-q35-%u.%u", 2 + k % 7, k / 7 % 3);
                snprintf(buf[1], sizeof(buf[1]), "pc-q35-rhel%u.%u.0", 7 + k % 2, k / 2 % 10);
                snprintf(buf[2], sizeof(buf[2]), k % 3 == 0 ? "pc-q35-%u.*" : "pc-i440fx-%u.*", 2 + k % 7);
                render_list(b, "            ", (const char *const[]) { buf[0], buf[1], buf[2] }, 3);
                return;
        }
        if (!x->narrow) {
                render_list(b, "            ", v->machines, ELEMENTSOF(v->machines));
                return;
        }
        /* "pc-q35-*" becomes "pc-q35-9.*", "pc-q35-10.*": what a vendor that tested two releases writes */
        for (size_t i = 0; i < ELEMENTSOF(v->machines) && v->machines[i]; i++) {
                size_t len = strlen(v->machines[i]);

                if (len == 0 || v->machines[i][len - 1] != '*') {
                        narrowed[n++] = v->machines[i];
                        continue;
                }
                for (unsigned major = 9; major <= 10; major++) {
                        snprintf(buf[n], sizeof(buf[n]), "%.*s%u.*", (int) (len - 1), v->machines[i], major);
                        narrowed[n] = buf[n];
                        n++;
                }
        }
        render_list(b, "            ", narrowed, n);
}

static void render_mapping(StrBuf *b, const Variant *v, const Variation *x) {
        const char *image = x->missing_image ? FW "removed/OVMF_CODE.fd" : v->image;

        strbuf_printf(b, "    \"mapping\": {\n        \"device\": \"%s\"", x->broken ? "pflash" : v->device);
        if (streq(v->device, "flash")) {
                if (v->mode)
                        strbuf_printf(b, ",\n        \"mode\": \"%s\"", v->mode);
                strbuf_printf(b, ",\n        \"executable\": {\n            \"filename\": \"%s\",\n"
                              "            \"format\": \"%s\"\n        }", image, v->image_format);
                if (v->vars)
                        strbuf_printf(b, ",\n        \"nvram-template\": {\n"
                                      "            \"filename\": \"%s\",\n"
                                      "            \"format\": \"%s\"\n        }", v->vars, v->vars_format);
        } else {
                strbuf_printf(b, ",\n        \"filename\": \"%s\"", image);
                if (v->vars)
                        strbuf_printf(b, ",\n        \"uefi-vars\": {\n            \"template\": \"%s\"\n"
                                      "        }", v->vars);
        }
        strbuf_puts(b, "\n    },\n");
}

/* A descriptor as packages write them: pretty-printed, four spaces, members in the schema's order. */
static char *variant_render(const Variant *v, const Variation *x) {
        static const char *const no_tags[] = { NULL };
        char tag[32];
        const char *tags[] = { tag, NULL };
        StrBuf b = {};

        strbuf_printf(&b, "{\n    \"description\": \"%s%s%s", x->origin ?: "", x->origin ? " build of " : "",
                      v->description);
        if (x->build > 0)
                strbuf_printf(&b, " (build %05u)", x->build);
        if (x->revision > 0)
                strbuf_printf(&b, ", revision %u", x->revision);
        strbuf_puts(&b, "\",\n    \"interface-types\": ");
        render_list(&b, "    ", v->interfaces, ELEMENTSOF(v->interfaces));
        strbuf_puts(&b, ",\n");
        render_mapping(&b, v, x);
        strbuf_printf(&b, "    \"targets\": [\n        {\n            \"architecture\": \"%s\",\n"
                      "            \"machines\": ", v->architecture);
        render_machines(&b, v, x);
        strbuf_puts(&b, "\n        }\n    ],\n    \"features\": ");
        render_list(&b, "    ", v->features, ELEMENTSOF(v->features));
        snprintf(tag, sizeof(tag), "edk2-stable2024%02u", 2 + x->build % 10);
        strbuf_puts(&b, ",\n    \"tags\": ");
        render_list(&b, "    ", x->tagged ? tags : no_tags, 1);
        /* whitespace is JSON too: a rewrite always changes the size, whatever the clock granularity */
        for (unsigned i = 0; i < x->revision; i++)
                strbuf_puts(&b, " ");
        strbuf_puts(&b, "\n}\n");
        return strbuf_steal(&b);
}

static int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_(freep) char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = strchr(p + 1, '/');; s = strchr(s + 1, '/')) {
                if (s)
                        *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                if (!s)
                        return 0;
                *s = '/';
        }
}

static int write_file(const char *path, const char *data) {
        _cleanup_(closep) int fd = -1;
        size_t n = strlen(data);

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        while (n > 0) {
                ssize_t k = write(fd, data, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                data += k;
                n -= (size_t) k;
        }
        return 0;
}


void tree_done(Tree *t) {
        free(t->root);
        free(t->share);
        free(t->etc);
        *t = (Tree) {};
}

int tree_parse_sizes(const char *s, unsigned *sizes, size_t max) {
        return tree_parse_counts(s, TREE_SIZE_MIN, TREE_SIZE_MAX, sizes, max);
}

int tree_parse_counts(const char *s, unsigned min, unsigned max_value, unsigned *counts, size_t max) {
        size_t n = 0;

        for (const char *p = s; *p;) {
                char *end;
                unsigned long v;

                errno = 0;
                v = strtoul(p, &end, 10);
                if (errno != 0 || end == p || v < min || v > max_value || n >= max ||
                    (*end != ',' && *end != 0))
                        return -EINVAL;
                counts[n++] = (unsigned) v;
                p = *end ? end + 1 : end;
        }
        return n > 0 ? (int) n : -EINVAL;
}

/* Which bulk files /etc overrides or masks: a few, spread over the whole range. */
static bool bulk_overridden(unsigned j) {
        return j % 100 == 2;
}

static bool bulk_masked(unsigned j) {
        return j % 250 == 3;
}

static const Variant *bulk_variant(unsigned j) {
        /* a multiplicative hash, so neighbours differ but every variant is drawn evenly */
        return &bulk_variants[((j * 2654435761U) >> 8) % ELEMENTSOF(bulk_variants)];
}

static Variation bulk_variation(unsigned j) {
        return (Variation) {
                .build = j,
                .narrow = j % 4 == 1,
                .tagged = j % 5 == 0,
                .broken = j % 1009 == 7,
                .missing_image = j % 997 == 5,
        };
}

static int tree_write(const char *dir, const char *name, const Variant *v, const Variation *x) {
        _cleanup_(freep) char *path = path_join(dir, name);
        _cleanup_(freep) char *text = variant_render(v, x);

        if (!path || !text)
                return -ENOMEM;
        return write_file(path, text);
}

static int tree_write_bulk(Tree *t) {
        char name[64];
        int r;

        for (unsigned k = 1; k <= t->n_decoys; k++) {
                Variation x = { .build = k, .decoy = k };

                snprintf(name, sizeof(name), "30-decoy-%05u.json", k);
                r = tree_write(t->share, name, &decoy_variant, &x);
                if (r < 0)
                        return r;
                t->n_share++;
        }
        for (unsigned j = 1; j <= t->n_bulk; j++) {
                Variation x = bulk_variation(j);

                snprintf(name, sizeof(name), "70-gen-%05u.json", j);
                r = tree_write(t->share, name, bulk_variant(j), &x);
                if (r < 0)
                        return r;
                t->n_share++;
        }
        return 0;
}

/* /etc: local overrides (a different build under the same name), masks (empty or /dev/null) and local-only
 * descriptors that sort after everything else. */
static int tree_write_etc(Tree *t) {
        char name[64];
        int r;

        for (unsigned j = 1; j <= t->n_bulk; j++) {
                _cleanup_(freep) char *path = NULL;
                Variation x = bulk_variation(j);

                if (!bulk_overridden(j) && !bulk_masked(j))
                        continue;
                snprintf(name, sizeof(name), "70-gen-%05u.json", j);
                x.origin = "local";
                if (bulk_overridden(j))
                        r = tree_write(t->etc, name, bulk_variant(j + 1), &x);
                else if ((path = path_join(t->etc, name)))
                        r = (j / 250) % 2 == 0 ? write_file(path, "")
                                               : (symlink("/dev/null", path) < 0 ? -errno : 0);
                else
                        r = -ENOMEM;
                if (r < 0)
                        return r;
                t->n_etc++;
        }
        for (unsigned k = 1; k <= t->n_local; k++) {
                Variation x = { .build = k, .origin = "local", .narrow = k % 2 == 0 };

                snprintf(name, sizeof(name), "80-local-%04u.json", k);
                r = tree_write(t->etc, name, bulk_variant(k * 3), &x);
                if (r < 0)
                        return r;
                t->n_etc++;
        }
        return 0;
}

static int image_create(Tree *t, const char *image) {
        _cleanup_(freep) char *path = path_prefix_root(t->root, image);
        char *slash;
        int r;

        if (!path)
                return -ENOMEM;
        if (access(path, F_OK) >= 0)
                return 0;
        slash = strrchr(path, '/');
        *slash = 0;
        r = mkdir_parents(path, 0755);
        *slash = '/';
        if (r < 0)
                return r;
        r = write_file(path, "firmware image placeholder\n");
        if (r >= 0)
                t->n_images++;
        return r;
}

/* Every image and template the variants refer to, once: descriptors share them as in real life. */
static int tree_write_images(Tree *t) {
        int r = 0;

        for (size_t i = 0; i < ELEMENTSOF(distribution) && r >= 0; i++) {
                r = image_create(t, distribution[i].image);
                if (r >= 0 && distribution[i].vars)
                        r = image_create(t, distribution[i].vars);
        }
        for (size_t i = 0; i < ELEMENTSOF(bulk_variants) && r >= 0; i++) {
                r = image_create(t, bulk_variants[i].image);
                if (r >= 0 && bulk_variants[i].vars)
                        r = image_create(t, bulk_variants[i].vars);
        }
        return r;
}

int tree_create(const char *dir, const char *prefix, unsigned n, unsigned decoys, Tree *ret) {
        _cleanup_(tree_done) Tree t = { .n = n, .n_decoys = decoys };
        _cleanup_(freep) char *template = strdup_printf("%s.XXXXXX", prefix);
        const char *tmp = getenv("TMPDIR");
        int r;

        if (!template)
                return -ENOMEM;
        if (!dir)
                dir = isempty(tmp) ? "/tmp" : tmp;
        t.root = path_join(dir, template);
        if (!t.root)
                return -ENOMEM;
        if (!mkdtemp(t.root))
                return -errno;
        t.share = path_prefix_root(t.root, SHARE_DIR);
        t.etc = path_prefix_root(t.root, ETC_DIR);
        if (!t.share || !t.etc)
                return -ENOMEM;
        if ((r = mkdir_parents(t.share, 0755)) < 0 || (r = mkdir_parents(t.etc, 0755)) < 0)
                return r;

        t.n_local = n / 500;
        if (n < ELEMENTSOF(distribution) + t.n_local + decoys)
                return -EINVAL;
        t.n_bulk = n - ELEMENTSOF(distribution) - t.n_local - decoys;
        for (size_t i = 0; i < ELEMENTSOF(distribution); i++) {
                Variation x = {};

                r = tree_write(t.share, distribution_names[i], &distribution[i], &x);
                if (r < 0)
                        return r;
                t.n_share++;
        }
        if ((r = tree_write_bulk(&t)) < 0 || (r = tree_write_etc(&t)) < 0 || (r = tree_write_images(&t)) < 0)
                return r;
        *ret = t;
        t = (Tree) {};
        return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 ? -1 : 0;
}

int tree_remove_path(const char *path) {
        if (nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
                return -errno;
        return 0;
}

int tree_remove(const Tree *t) {
        return tree_remove_path(t->root);
}

int tree_modify(Tree *t, unsigned run, char name[static 64]) {
        unsigned j = t->n_bulk / 2 + run;

        for (unsigned tries = 0;; tries++) {
                j = (j - 1) % t->n_bulk + 1;
                if (!bulk_overridden(j) && !bulk_masked(j))
                        break;
                if (tries > t->n_bulk)
                        return -ENOENT;
                j++;
        }
        Variation x = bulk_variation(j);
        x.revision = ++t->revision;
        snprintf(name, 64, "70-gen-%05u.json", j);
        return tree_write(t->share, name, bulk_variant(j), &x);
}
