/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "catalogue/catalogue.h"
#include "tests.h"

static const char *const system_dirs[] = { "/usr/share/qemu/firmware", "/etc/qemu/firmware", NULL };
#define USR "usr/share/qemu/firmware/"
#define ETC "etc/qemu/firmware/"

/* A valid split-flash descriptor whose images live in /fw below the root. */
static char *flash_json(const char *arch, const char *machine, const char *features, const char *image) {
        char *s = strdup_printf(
                "{ \"description\": \"test firmware\", \"interface-types\": [ \"uefi\" ],\n"
                "  \"mapping\": { \"device\": \"flash\",\n"
                "    \"executable\": { \"filename\": \"/fw/%s\", \"format\": \"raw\" },\n"
                "    \"nvram-template\": { \"filename\": \"/fw/VARS.fd\", \"format\": \"raw\" } },\n"
                "  \"targets\": [ { \"architecture\": \"%s\", \"machines\": [ \"%s\" ] } ],\n"
                "  \"features\": [ %s ], \"tags\": [] }\n", image, arch, machine, features);
        CHECK(s);
        return s;
}

static void write_flash(const char *root, const char *relative, const char *arch, const char *features,
                        const char *image) {
        _cleanup_(freep) char *j = flash_json(arch, streq(arch, "x86_64") ? "pc-q35-*" : "virt-*", features,
                                              image);
        test_write_file(root, relative, j);
}

static bool strv_equal_for_test(char **a, char **b) {
        size_t n = strv_length(a);

        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

static Catalogue *build(const char *root, const Catalogue *previous) {
        Catalogue *c = NULL;

        CHECK(catalogue_build((char **) system_dirs, root, previous, &c) == 0);
        CHECK(c);
        return c;
}

static void test_override_and_shadow(void) {
        _cleanup_(freep) char *root = test_tmpdir_new();
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        const Entry *e;

        write_flash(root, USR "50-ovmf.json", "x86_64", "\"secure-boot\"", "CODE.fd");
        write_flash(root, ETC "50-ovmf.json", "x86_64", "", "CODE.fd");
        write_flash(root, USR "60-other.json", "x86_64", "", "CODE.fd");
        test_write_file(root, "fw/CODE.fd", "code");
        test_write_file(root, "fw/VARS.fd", "vars");

        c = build(root, NULL);
        CHECK(c->n_entries == 2);
        CHECK(c->n_shadowed == 1);
        e = catalogue_find(c, "50-ovmf.json");
        CHECK(e);
        CHECK(endswith(e->path, "/etc/qemu/firmware/50-ovmf.json"));
        CHECK_STREQ(e->name, "50-ovmf.json");
        CHECK(e->dir_index == 1);
        CHECK(e->state == ENTRY_VALID);
        CHECK(!descriptor_has_feature(e->descriptor, FEATURE_SECURE_BOOT));   /* /etc's copy won */
        CHECK(strv_length(e->shadowed) == 1);
        CHECK(endswith(e->shadowed[0], "/usr/share/qemu/firmware/50-ovmf.json"));
        CHECK(entry_files_ok(e));
        CHECK(catalogue_find(c, "nope.json") == NULL);
        test_tmpdir_remove(root);
}

static void test_masks(void) {
        _cleanup_(freep) char *root = test_tmpdir_new();
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        const Entry *e;

        write_flash(root, USR "50-a.json", "x86_64", "", "CODE.fd");
        write_flash(root, USR "50-b.json", "x86_64", "", "CODE.fd");
        write_flash(root, USR "50-c.json", "x86_64", "", "CODE.fd");
        test_write_file(root, ETC "50-a.json", "");                     /* empty file masks */
        test_symlink("/dev/null", root, ETC "50-b.json");               /* so does a link to /dev/null */

        c = build(root, NULL);
        CHECK(c->n_entries == 3);
        CHECK(c->n_masked == 2);
        CHECK(c->n_valid == 1);
        e = catalogue_find(c, "50-a.json");
        CHECK(e->state == ENTRY_MASKED && !e->descriptor);
        CHECK(endswith(e->path, "/etc/qemu/firmware/50-a.json"));
        CHECK(strv_length(e->shadowed) == 1);
        e = catalogue_find(c, "50-b.json");
        CHECK(e->state == ENTRY_MASKED);
        CHECK(catalogue_find(c, "50-c.json")->state == ENTRY_VALID);
        /* masked and invalid entries are never indexed */
        CHECK(c->n_index[ARCH_X86_64][INTERFACE_UEFI] == 1);
        CHECK(c->index[ARCH_X86_64][INTERFACE_UEFI][0] == catalogue_find(c, "50-c.json")->rank);
        test_tmpdir_remove(root);
}

static void test_leftovers_ignored(void) {
        static const char *const ignored[] = {
                ".hidden.json", "50-x.json~", "50-x.json.dpkg-new", "50-x.json.dpkg-old", "50-x.json.dpkg-dist",
                "50-x.json.rpmnew", "50-x.json.rpmsave", ".50-x.json.swp", "50-x.json.swp", "50-x.json.tmp",
                "#50-x.json#", "50-x.json.ucf-dist",
        };
        _cleanup_(freep) char *root = test_tmpdir_new();
        _cleanup_(catalogue_freep) Catalogue *c = NULL;

        for (size_t i = 0; i < ELEMENTSOF(ignored); i++) {
                _cleanup_(freep) char *p = strdup_printf(USR "%s", ignored[i]);
                CHECK(catalogue_name_ignored(ignored[i]));
                test_write_file(root, p, "{ broken");
        }
        write_flash(root, USR "50-x.json", "x86_64", "", "CODE.fd");
        CHECK(!catalogue_name_ignored("50-x.json"));
        CHECK(!catalogue_name_ignored("firmware"));     /* the spec names no extension */

        c = build(root, NULL);
        CHECK(c->n_entries == 1);
        CHECK_STREQ(c->entries[0].name, "50-x.json");
        test_tmpdir_remove(root);
}

static void test_byte_order_and_rank(void) {
        _cleanup_(freep) char *root = test_tmpdir_new();
        _cleanup_(catalogue_freep) Catalogue *c = NULL;

        /* rank comes from the name, not the directory: /usr/share's 10- sorts before /etc's 50- */
        write_flash(root, USR "9-late.json", "x86_64", "", "CODE.fd");
        write_flash(root, ETC "50-admin.json", "x86_64", "", "CODE.fd");
        write_flash(root, USR "10-early.json", "x86_64", "", "CODE.fd");
        write_flash(root, USR "Z-upper.json", "x86_64", "", "CODE.fd");

        c = build(root, NULL);
        CHECK(c->n_entries == 4);
        CHECK_STREQ(c->entries[0].name, "10-early.json");
        CHECK_STREQ(c->entries[1].name, "50-admin.json");
        CHECK_STREQ(c->entries[2].name, "9-late.json");
        CHECK_STREQ(c->entries[3].name, "Z-upper.json");
        for (unsigned i = 0; i < c->n_entries; i++)
                CHECK(c->entries[i].rank == i);
        test_tmpdir_remove(root);
}

static void test_symlinks(void) {
        _cleanup_(freep) char *root = test_tmpdir_new();
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        _cleanup_(freep) char *target = NULL;
        const Entry *e;

        write_flash(root, "elsewhere/real.json", "aarch64", "", "CODE.fd");
        /* absolute links are resolved inside the root */
        target = strdup("/elsewhere/real.json");
        test_symlink(target, root, USR "50-linked.json");
        test_symlink("/nonexistent/target.json", root, USR "50-dangling.json");
        test_symlink("50-loop-b.json", root, USR "50-loop-a.json");
        test_symlink("50-loop-a.json", root, USR "50-loop-b.json");

        c = build(root, NULL);
        e = catalogue_find(c, "50-linked.json");
        CHECK(e && e->state == ENTRY_VALID);
        CHECK(e->descriptor->architecture_mask == 1U << ARCH_AARCH64);

        e = catalogue_find(c, "50-dangling.json");
        CHECK(e && e->state == ENTRY_INVALID);
        CHECK_STREQ(e->descriptor->problems[0].message, "dangling symlink to '/nonexistent/target.json'");

        e = catalogue_find(c, "50-loop-a.json");
        CHECK(e && e->state == ENTRY_INVALID);
        CHECK(strstr(e->descriptor->problems[0].message, "symbolic links"));
        test_tmpdir_remove(root);
}

static void test_special_files(void) {
        _cleanup_(freep) char *root = test_tmpdir_new();
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        _cleanup_(freep) char *fifo = NULL, *big = NULL;
        const Entry *e;
        FILE *f;

        test_mkdir(root, USR "60-directory.json");
        fifo = path_join(root, USR "50-fifo.json");
        CHECK(mkfifo(fifo, 0644) >= 0);
        /* a device of the root, where the root has one (creating it takes privileges) */
        _cleanup_(freep) char *zero = path_join(root, "dev/zero");
        test_mkdir(root, "dev");
        bool have_zero = mknod(zero, S_IFCHR | 0666, makedev(1, 5)) >= 0;
        test_symlink("/dev/zero", root, USR "50-zero.json");
        big = path_join(root, USR "50-big.json");
        f = fopen(big, "we");
        CHECK(f);
        CHECK(ftruncate(fileno(f), 100 * 1024 * 1024) >= 0);  /* sparse: 100 MiB that is never read */
        fclose(f);

        c = build(root, NULL);                                  /* must not block on the FIFO */
        CHECK(c->n_entries == 4);
        CHECK(c->n_invalid == 4);
        e = catalogue_find(c, "50-fifo.json");
        CHECK_STREQ(e->descriptor->problems[0].message, "a FIFO, only regular files are read");
        e = catalogue_find(c, "50-zero.json");
        CHECK_STREQ(e->descriptor->problems[0].message, have_zero ? "a character device, only regular files are read"
                                                                  : "dangling symlink to '/dev/zero'");
        e = catalogue_find(c, "60-directory.json");
        CHECK_STREQ(e->descriptor->problems[0].message, "a directory, only regular files are read");
        e = catalogue_find(c, "50-big.json");
        CHECK_STREQ(e->descriptor->problems[0].message,
                    "larger than 1048576 bytes (104857600 bytes), not read");
        test_tmpdir_remove(root);
}

static void test_invalid_listed(void) {
        _cleanup_(freep) char *root = test_tmpdir_new();
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        const Entry *e;

        test_write_file(root, USR "50-broken.json", "{ \"description\": ");
        write_flash(root, USR "60-good.json", "x86_64", "", "CODE.fd");

        c = build(root, NULL);
        CHECK(c->n_entries == 2 && c->n_invalid == 1 && c->n_valid == 1);
        e = catalogue_find(c, "50-broken.json");
        CHECK(e->state == ENTRY_INVALID);
        CHECK(e->descriptor->n_errors == 1);
        CHECK(strstr(e->descriptor->problems[0].message, "invalid JSON"));
        test_tmpdir_remove(root);
}

static void test_referenced_files(void) {
        _cleanup_(freep) char *root = test_tmpdir_new();
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        const Entry *e;

        write_flash(root, USR "50-present.json", "x86_64", "", "CODE.fd");
        write_flash(root, USR "50-missing.json", "x86_64", "", "GONE.fd");
        test_write_file(root, "fw/CODE.fd", "code");
        test_write_file(root, "fw/VARS.fd", "vars");

        c = build(root, NULL);
        e = catalogue_find(c, "50-present.json");
        CHECK(e->image.ok && e->vars.ok && entry_files_ok(e));
        e = catalogue_find(c, "50-missing.json");
        CHECK(!e->image.ok && e->vars.ok && !entry_files_ok(e));
        test_tmpdir_remove(root);
}

static void touch_later(const char *root, const char *relative, const char *content) {
        /* rewrite in place with a different size, so the FileId surely changes */
        test_write_file(root, relative, content);
}

static void test_incremental(void) {
        _cleanup_(freep) char *root = test_tmpdir_new();
        _cleanup_(catalogue_freep) Catalogue *first = NULL, *second = NULL, *third = NULL;
        _cleanup_(freep) char *changed = NULL;

        for (int i = 0; i < 20; i++) {
                _cleanup_(freep) char *p = strdup_printf(USR "%02d-fw.json", i);
                write_flash(root, p, i % 2 ? "x86_64" : "aarch64", "", "CODE.fd");
        }
        first = build(root, NULL);
        CHECK(first->n_parsed == 20 && first->n_reused == 0);

        second = build(root, first);
        CHECK(second->n_parsed == 0 && second->n_reused == 20);
        CHECK(second->entries[3].descriptor == first->entries[3].descriptor);   /* shared, not copied */

        changed = flash_json("riscv64", "virt", "\"acpi-s3\"", "CODE.fd");
        touch_later(root, USR "03-fw.json", changed);
        third = build(root, second);
        CHECK(third->n_parsed == 1 && third->n_reused == 19);
        CHECK(third->entries[3].descriptor != second->entries[3].descriptor);
        CHECK(third->entries[3].descriptor->architecture_mask == 1U << ARCH_RISCV64);

        /* the old catalogues stay intact and can be freed in any order */
        first = catalogue_free(first);
        CHECK(second->entries[4].descriptor->n_ref == 2);
        test_tmpdir_remove(root);
}

static void test_index_and_features(void) {
        _cleanup_(freep) char *root = test_tmpdir_new();
        _cleanup_(catalogue_freep) Catalogue *c = NULL;

        write_flash(root, USR "10-a.json", "x86_64", "\"secure-boot\", \"requires-smm\"", "CODE.fd");
        write_flash(root, USR "20-b.json", "aarch64", "\"future-feature\"", "CODE.fd");
        write_flash(root, USR "30-c.json", "x86_64", "", "CODE.fd");

        c = build(root, NULL);
        CHECK(c->n_index[ARCH_X86_64][INTERFACE_UEFI] == 2);
        CHECK(c->index[ARCH_X86_64][INTERFACE_UEFI][0] == 0);
        CHECK(c->index[ARCH_X86_64][INTERFACE_UEFI][1] == 2);
        CHECK(c->n_index[ARCH_AARCH64][INTERFACE_UEFI] == 1);
        CHECK(c->n_index[ARCH_X86_64][INTERFACE_BIOS] == 0);
        CHECK(c->architecture_mask == ((1U << ARCH_X86_64) | (1U << ARCH_AARCH64)));
        CHECK(strv_length(c->features) == 3);
        CHECK_STREQ(c->features[0], "future-feature");
        CHECK_STREQ(c->features[1], "requires-smm");
        CHECK_STREQ(c->features[2], "secure-boot");
        test_tmpdir_remove(root);
}

static void test_search_path(void) {
        _cleanup_(strv_freep) char **l = NULL, **u = NULL, **s = NULL;
        char *extra[] = { (char *) "/nix/store/firmware", NULL };
        char *relative[] = { (char *) "relative/dir", NULL };

        CHECK(catalogue_search_path(false, NULL, extra, &l) == 0);
        CHECK(strv_length(l) == 3);
        CHECK_STREQ(l[0], "/nix/store/firmware");
        CHECK_STREQ(l[1], "/usr/share/qemu/firmware");
        CHECK_STREQ(l[2], "/etc/qemu/firmware");

        CHECK(setenv("XDG_CONFIG_HOME", "/home/u/.cfg", 1) == 0);
        CHECK(catalogue_search_path(true, NULL, NULL, &u) == 0);
        CHECK(strv_length(u) == 3);
        CHECK_STREQ(u[2], "/home/u/.cfg/qemu/firmware");

        CHECK(catalogue_search_path(false, "/a:/b", NULL, &s) == 0);
        CHECK(strv_length(s) == 2);
        CHECK_STREQ(s[1], "/b");

        char **bad = NULL;
        CHECK(catalogue_search_path(false, "/a:rel", NULL, &bad) == -EINVAL);
        CHECK(catalogue_search_path(false, NULL, relative, &bad) == -EINVAL);
        CHECK(!bad);
}

static void test_directory_problems(void) {
        _cleanup_(freep) char *root = test_tmpdir_new();
        _cleanup_(catalogue_freep) Catalogue *c = NULL;

        /* /etc/qemu/firmware is a file: reported, and the other directory still serves */
        test_write_file(root, "etc/qemu/firmware", "not a directory");
        write_flash(root, USR "50-a.json", "x86_64", "", "CODE.fd");

        c = build(root, NULL);
        CHECK(c->n_entries == 1);
        CHECK(strv_length(c->dir_problems) == 1);
        CHECK(strstr(c->dir_problems[0], "etc/qemu/firmware: Not a directory"));

        /* a root where nothing exists yet is an empty catalogue, not an error */
        _cleanup_(catalogue_freep) Catalogue *empty = build("/nonexistent-root-for-test", NULL);
        CHECK(empty->n_entries == 0 && !empty->dir_problems);
        test_tmpdir_remove(root);
}

/* Updates must not pile up directory problems, and a fixed one must go with the update that fixes it. */
static void test_directory_problems_updated(void) {
        _cleanup_(freep) char *root = test_tmpdir_new(), *latin1 = NULL;
        Catalogue *c;

        test_write_file(root, "etc/qemu/firmware", "not a directory");
        write_flash(root, USR "50-a.json", "x86_64", "", "CODE.fd");
        test_write_file(root, USR "51-caf\xe9.json", "{}");
        c = build(root, NULL);
        CHECK(strv_length(c->dir_problems) == 2);

        for (int i = 0; i < 1000; i++) {
                Catalogue *next = NULL;

                CHECK(catalogue_update(c, (char *[]) { (char *) "50-a.json", NULL }, i % 2 == 0, &next) == 0);
                catalogue_free(c);
                c = next;
        }
        CHECK(strv_length(c->dir_problems) == 2);
        CHECK(strstr(c->dir_problems[0], "etc/qemu/firmware: Not a directory"));
        CHECK(endswith(c->dir_problems[1], "firmware: file name '51-caf\\xe9.json' is not valid UTF-8, skipping"));

        /* the badly named file goes away: so does its problem, without a full rescan */
        latin1 = strdup_printf("%s/" USR "51-caf\xe9.json", root);
        CHECK(latin1 && unlink(latin1) == 0);
        Catalogue *next = NULL;
        CHECK(catalogue_update(c, (char *[]) { (char *) "51-caf\xe9.json", NULL }, false, &next) == 0);
        catalogue_free(c);
        c = next;
        CHECK(strv_length(c->dir_problems) == 1);
        CHECK(strstr(c->dir_problems[0], "etc/qemu/firmware: Not a directory"));
        catalogue_free(c);
        test_tmpdir_remove(root);
}

static void test_diff(void) {
        _cleanup_(freep) char *root = test_tmpdir_new();
        _cleanup_(catalogue_freep) Catalogue *a = NULL, *b = NULL, *c = NULL;
        _cleanup_(strv_freep) char **added = NULL, **removed = NULL, **modified = NULL;
        _cleanup_(freep) char *changed = NULL, *gone = NULL;

        write_flash(root, USR "10-keep.json", "x86_64", "", "CODE.fd");
        write_flash(root, USR "20-change.json", "x86_64", "", "CODE.fd");
        write_flash(root, USR "30-remove.json", "x86_64", "", "CODE.fd");
        write_flash(root, USR "40-mask.json", "x86_64", "", "CODE.fd");
        a = build(root, NULL);

        changed = flash_json("aarch64", "virt-*", "", "CODE.fd");
        test_write_file(root, USR "20-change.json", changed);
        gone = path_join(root, USR "30-remove.json");
        CHECK(unlink(gone) == 0);
        test_write_file(root, ETC "40-mask.json", "");
        write_flash(root, USR "05-new.json", "x86_64", "", "CODE.fd");     /* shifts every rank */
        b = build(root, a);

        CHECK(catalogue_diff(a, b, &added, &removed, &modified) == 0);
        CHECK(strv_length(added) == 1 && streq(added[0], "05-new.json"));
        CHECK(strv_length(removed) == 1 && streq(removed[0], "30-remove.json"));
        CHECK(strv_length(modified) == 2);
        CHECK_STREQ(modified[0], "20-change.json");
        CHECK_STREQ(modified[1], "40-mask.json");

        /* nothing changed: three empty lists; referenced files appearing is a modification */
        added = strv_free(added), removed = strv_free(removed), modified = strv_free(modified);
        c = build(root, b);
        CHECK(catalogue_diff(b, c, &added, &removed, &modified) == 0);
        CHECK(!added && !removed && !modified);
        test_write_file(root, "fw/CODE.fd", "now it exists");
        test_write_file(root, "fw/VARS.fd", "and this");
        c = catalogue_free(c);
        c = build(root, b);
        CHECK(catalogue_diff(b, c, &added, &removed, &modified) == 0);
        CHECK(!added && !removed && strv_length(modified) == 3);        /* the three valid x86 and arm ones */
        test_tmpdir_remove(root);
}

/* Two catalogues' machine buckets say the same, whether built, updated or copied. */
static void check_machine_indexes_equal(const Catalogue *a, const Catalogue *b) {
        for (int x = 0; x < _ARCH_MAX; x++)
                for (int t = 0; t < _INTERFACE_MAX; t++) {
                        const MachineIndex *i = &a->machines[x][t], *j = &b->machines[x][t];

                        CHECK(i->n_buckets == j->n_buckets);
                        for (size_t k = 0; k < i->n_buckets; k++) {
                                const MachineBucket *p = &i->buckets[k], *q = &j->buckets[k];

                                CHECK(p->len == q->len && memcmp(p->prefix, q->prefix, p->len) == 0);
                                CHECK(p->n == q->n && p->parent == q->parent);
                                CHECK(memcmp(p->ranks, q->ranks, p->n * sizeof(uint32_t)) == 0);
                        }
                }
}

/* An update that looks only at the changed names must give what a full scan gives. */
static void check_update_equals_build(const char *root, Catalogue **current, char **changed) {
        _cleanup_(catalogue_freep) Catalogue *full = NULL;
        _cleanup_(strv_freep) char **added = NULL, **removed = NULL, **modified = NULL;
        Catalogue *updated = NULL;

        CHECK(catalogue_update(*current, changed, false, &updated) == 0);
        CHECK(updated->n_parsed <= strv_length(changed));
        full = build(root, updated);            /* reuses updated's descriptors where files are the same */
        CHECK(catalogue_diff(updated, full, &added, &removed, &modified) == 0);
        CHECK(!added && !removed && !modified);
        CHECK(updated->n_entries == full->n_entries);
        CHECK(updated->n_valid == full->n_valid && updated->n_invalid == full->n_invalid);
        CHECK(updated->n_masked == full->n_masked && updated->n_shadowed == full->n_shadowed);
        for (size_t i = 0; i < full->n_entries; i++) {
                CHECK_STREQ(updated->entries[i].name, full->entries[i].name);
                CHECK(updated->entries[i].rank == full->entries[i].rank);
        }
        CHECK(memcmp(updated->n_index, full->n_index, sizeof(full->n_index)) == 0);
        CHECK(strv_equal_for_test(updated->features, full->features));
        /* indexes made anew, with no descriptor shared, are the same too */
        _cleanup_(catalogue_freep) Catalogue *fresh = build(root, NULL);
        check_machine_indexes_equal(updated, fresh);
        CHECK(updated->architecture_mask == fresh->architecture_mask);
        catalogue_free(*current);
        *current = updated;
        check_machine_indexes_equal(updated, full);     /* what previous lent is still there */
}

/* An entry taken over by an update shares its paths and descriptor with its predecessor (nothing is copied,
 * whatever the size of the catalogue), and outlives the catalogue it came from. */
static void test_update_shares_entries(void) {
        _cleanup_(freep) char *root = test_tmpdir_new();
        Catalogue *c, *next = NULL;

        write_flash(root, USR "10-a.json", "x86_64", "", "CODE.fd");
        write_flash(root, USR "20-b.json", "x86_64", "", "CODE.fd");
        write_flash(root, ETC "20-b.json", "aarch64", "", "CODE.fd");
        write_flash(root, USR "30-c.json", "x86_64", "", "CODE.fd");
        c = build(root, NULL);

        write_flash(root, USR "15-new.json", "x86_64", "", "CODE.fd");
        CHECK(catalogue_update(c, (char *[]) { (char *) "15-new.json", NULL }, 0, &next) == 0);
        CHECK(next->n_entries == 4);
        for (size_t i = 0, j = 0; i < next->n_entries; i++) {
                const Entry *e = &next->entries[i];

                if (streq(e->name, "15-new.json"))
                        continue;
                CHECK(e->paths && e->paths == c->entries[j].paths);
                CHECK(e->path == c->entries[j].path && e->descriptor == c->entries[j].descriptor);
                CHECK(e->rank == i);
                j++;
        }
        catalogue_free(c);
        CHECK(endswith(catalogue_find(next, "20-b.json")->path, "/" ETC "20-b.json"));
        CHECK(strv_length(catalogue_find(next, "20-b.json")->shadowed) == 1);
        CHECK(endswith(catalogue_find(next, "20-b.json")->shadowed[0], USR "20-b.json"));
        catalogue_free(next);
        test_tmpdir_remove(root);
}

static void test_update(void) {
        _cleanup_(freep) char *root = test_tmpdir_new();
        _cleanup_(freep) char *p = NULL, *j = NULL;
        Catalogue *c;

        for (int i = 0; i < 10; i++) {
                _cleanup_(freep) char *n = strdup_printf(USR "%02d-fw.json", i * 10);
                write_flash(root, n, i % 3 ? "x86_64" : "aarch64", "", "CODE.fd");
        }
        test_write_file(root, "fw/CODE.fd", "code");
        test_write_file(root, "fw/VARS.fd", "vars");
        c = build(root, NULL);

        /* a new file, sorting first: every rank moves */
        write_flash(root, USR "05-new.json", "x86_64", "\"secure-boot\", \"future-x\"", "CODE.fd");
        check_update_equals_build(root, &c, (char *[]) { (char *) "05-new.json", NULL });
        CHECK(c->n_parsed == 1 && c->n_reused == 10);
        CHECK_STREQ(c->entries[1].name, "05-new.json");

        /* an override in /etc, then a mask over it, then both gone */
        write_flash(root, ETC "30-fw.json", "riscv64", "", "CODE.fd");
        check_update_equals_build(root, &c, (char *[]) { (char *) "30-fw.json", NULL });
        CHECK(strv_length(catalogue_find(c, "30-fw.json")->shadowed) == 1);
        p = path_join(root, ETC "30-fw.json");
        CHECK(unlink(p) == 0);
        test_symlink("/dev/null", root, ETC "30-fw.json");
        check_update_equals_build(root, &c, (char *[]) { (char *) "30-fw.json", NULL });
        CHECK(catalogue_find(c, "30-fw.json")->state == ENTRY_MASKED);
        CHECK(unlink(p) == 0);
        check_update_equals_build(root, &c, (char *[]) { (char *) "30-fw.json", NULL });
        CHECK(catalogue_find(c, "30-fw.json")->state == ENTRY_VALID);

        /* several at once: removed, broken, rewritten, a name that never existed, duplicates, leftovers */
        free(p);
        p = path_join(root, USR "90-fw.json");
        CHECK(unlink(p) == 0);
        test_write_file(root, USR "40-fw.json", "{ broken");
        j = flash_json("aarch64", "virt-*", "", "CODE.fd");
        test_write_file(root, USR "50-fw.json", j);
        test_write_file(root, USR "60-fw.json.dpkg-new", "{}");
        check_update_equals_build(root, &c, (char *[]) { (char *) "90-fw.json", (char *) "40-fw.json",
                                                         (char *) "50-fw.json", (char *) "nothing.json",
                                                         (char *) "40-fw.json", (char *) "60-fw.json.dpkg-new",
                                                         NULL });
        CHECK(!catalogue_find(c, "90-fw.json"));
        CHECK(catalogue_find(c, "40-fw.json")->state == ENTRY_INVALID);
        CHECK(c->n_parsed == 2);

        /* nothing changed */
        check_update_equals_build(root, &c, (char *[]) { NULL });
        CHECK(c->n_parsed == 0);
        catalogue_free(c);
        test_tmpdir_remove(root);
}

/* The set that collects a storm's names: order kept, each name once, lookups right after growing. */
static void test_name_set(void) {
        NameSet s = {};
        char name[32];

        CHECK(name_set_isempty(&s));
        CHECK(!name_set_contains(&s, "x"));
        for (int round = 0; round < 2; round++)
                for (int i = 0; i < 100000; i++) {
                        snprintf(name, sizeof(name), "%05d-storm.json", i);
                        CHECK(name_set_add(&s, name) == (round == 0));
                }
        CHECK(s.n == 100000);
        CHECK(name_set_contains(&s, "04711-storm.json"));
        CHECK(!name_set_contains(&s, "100000-storm.json"));
        CHECK(name_set_add(&s, "") == 1);
        CHECK(name_set_contains(&s, ""));

        _cleanup_(strv_freep) char **l = name_set_steal(&s);
        CHECK(name_set_isempty(&s) && !name_set_contains(&s, "00000-storm.json"));
        CHECK(strv_length(l) == 100001);
        CHECK_STREQ(l[0], "00000-storm.json");
        CHECK_STREQ(l[99999], "99999-storm.json");
        CHECK_STREQ(l[100000], "");

        /* a storm's names go a part at a time: the first ones, and the rest stays as it was */
        STRV_FOREACH(n, l)
                CHECK(name_set_add(&s, *n) == 1);
        _cleanup_(strv_freep) char **part = name_set_take(&s, 1024);
        CHECK(strv_length(part) == 1024 && s.n == 100001 - 1024);
        CHECK_STREQ(part[0], "00000-storm.json");
        CHECK_STREQ(part[1023], "01023-storm.json");
        CHECK(!name_set_contains(&s, "01023-storm.json") && name_set_contains(&s, "01024-storm.json"));
        CHECK(name_set_contains(&s, "99999-storm.json") && name_set_contains(&s, ""));
        CHECK(name_set_add(&s, "00000-storm.json") == 1 && name_set_add(&s, "01024-storm.json") == 0);
        _cleanup_(strv_freep) char **rest = name_set_take(&s, 1000000);
        CHECK(name_set_isempty(&s) && strv_length(rest) == 100001 - 1024 + 1);
        CHECK_STREQ(rest[0], "01024-storm.json");
        CHECK_STREQ(rest[100001 - 1024], "00000-storm.json");
        name_set_done(&s);
}

int main(void) {
        RUN(test_name_set);
        RUN(test_update_shares_entries);
        RUN(test_override_and_shadow);
        RUN(test_masks);
        RUN(test_leftovers_ignored);
        RUN(test_byte_order_and_rank);
        RUN(test_symlinks);
        RUN(test_special_files);
        RUN(test_invalid_listed);
        RUN(test_referenced_files);
        RUN(test_incremental);
        RUN(test_index_and_features);
        RUN(test_search_path);
        RUN(test_directory_problems);
        RUN(test_directory_problems_updated);
        RUN(test_diff);
        RUN(test_update);
        return 0;
}
