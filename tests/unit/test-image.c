/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Image facts: digests against known SHA-256 values, the identity cache across catalogues, and what counts
 * as a change of content. */

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "catalogue/catalogue.h"
#include "tests.h"

static ImageFacts *facts_of(ImageCache *c, const char *path) {
        ImageFacts *f = NULL;
        struct stat st;

        CHECK(stat(path, &st) == 0);
        CHECK(image_cache_get(c, AT_FDCWD, path, &st, &f) == 0);
        return f;
}

static void test_digest(void) {
        _cleanup_(freep) char *dir = test_tmpdir_new(), *empty = path_join(dir, "empty"),
                *abc = path_join(dir, "abc");
        _cleanup_(image_cache_unrefp) ImageCache *c = NULL;
        ImageFacts *f;

        CHECK(image_cache_new(&c) == 0);
        test_write_file(dir, "empty", "");
        test_write_file(dir, "abc", "abc");
        /* FIPS 180-2's examples */
        f = facts_of(c, empty);
        CHECK_STREQ(f->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        CHECK(f->size == 0);
        image_facts_unref(f);
        f = facts_of(c, abc);
        CHECK_STREQ(f->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        CHECK(f->size == 3);
        image_facts_unref(f);
        CHECK(image_cache_n_hashed(c) == 2);
        test_tmpdir_remove(dir);
}

static void set_mtime(const char *path, time_t t) {
        struct timespec ts[2] = { { .tv_sec = t }, { .tv_sec = t } };
        CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
}

static void test_cache(void) {
        _cleanup_(freep) char *dir = test_tmpdir_new(), *img = path_join(dir, "img"),
                *link = path_join(dir, "link"), *staged = path_join(dir, "img.dpkg-new");
        _cleanup_(image_cache_unrefp) ImageCache *c = NULL;
        ImageFacts *a, *b, *d;

        CHECK(image_cache_new(&c) == 0);
        test_write_file(dir, "img", "version one");
        test_symlink("img", dir, "link");

        /* one file, two names: hashed once */
        a = facts_of(c, img);
        b = facts_of(c, link);
        CHECK(a == b);
        CHECK(image_cache_n_hashed(c) == 1);
        image_facts_unref(b);

        /* touched: read again, same content */
        set_mtime(img, 1000000);
        b = facts_of(c, img);
        CHECK(image_cache_n_hashed(c) == 2);
        CHECK(b != a && image_facts_same_content(a, b));
        image_facts_unref(b);

        /* renamed over, dpkg's way: new content */
        test_write_file(dir, "img.dpkg-new", "version two");
        CHECK(rename(staged, img) == 0);
        b = facts_of(c, img);
        CHECK(!image_facts_same_content(a, b));
        CHECK(image_cache_n_hashed(c) == 3);

        /* unchanged: never read again, also not after a prune while someone holds the facts */
        image_cache_prune(c);
        d = facts_of(c, img);
        CHECK(d == b);
        CHECK(image_cache_n_hashed(c) == 3);
        image_facts_unref(d);
        image_facts_unref(b);
        image_facts_unref(a);

        /* nobody holds them any more: pruned, and read again when asked */
        image_cache_prune(c);
        image_facts_unref(facts_of(c, img));
        CHECK(image_cache_n_hashed(c) == 4);
        test_tmpdir_remove(dir);
}

static void test_unreadable(void) {
        _cleanup_(freep) char *dir = test_tmpdir_new(), *sub = path_join(dir, "sub");
        _cleanup_(image_cache_unrefp) ImageCache *c = NULL;
        ImageFacts *f = NULL;
        struct stat st;

        CHECK(image_cache_new(&c) == 0);
        test_mkdir(dir, "sub");
        CHECK(stat(sub, &st) == 0);
        CHECK(image_cache_get(c, AT_FDCWD, sub, &st, &f) < 0);
        CHECK(!f);
        test_tmpdir_remove(dir);
}

static const char *const descriptor =
        "{ \"description\": \"t\", \"interface-types\": [\"uefi\"], \"mapping\": { \"device\": \"flash\","
        " \"executable\": { \"filename\": \"/img/CODE.fd\", \"format\": \"raw\" },"
        " \"nvram-template\": { \"filename\": \"/img/VARS.fd\", \"format\": \"raw\" } },"
        " \"targets\": [ { \"architecture\": \"x86_64\", \"machines\": [\"pc-q35-*\"] } ],"
        " \"features\": [], \"tags\": [] }";

/* Across rebuilds: only a changed image is hashed, and only a change of content is a modification. */
static void test_rebuilds(void) {
        _cleanup_(freep) char *root = test_tmpdir_new(), *code = path_join(root, "img/CODE.fd");
        static const char *const dirs[] = { "/usr/share/qemu/firmware", NULL };
        _cleanup_(strv_freep) char **added = NULL, **removed = NULL, **modified = NULL;
        Catalogue *a, *b, *c;

        test_write_file(root, "usr/share/qemu/firmware/50-a.json", descriptor);
        test_write_file(root, "usr/share/qemu/firmware/60-b.json", descriptor);
        test_write_file(root, "img/CODE.fd", "code");
        test_write_file(root, "img/VARS.fd", "vars");

        CHECK(catalogue_build((char **) dirs, root, NULL, &a) == 0);
        CHECK(a->n_hashed == 2);
        CHECK_STREQ(entry_state_name(&a->entries[0]), "ok");
        CHECK(a->entries[0].image.facts == a->entries[1].image.facts);

        /* a touch: read again, not a change */
        set_mtime(code, 2000000);
        CHECK(catalogue_build((char **) dirs, root, a, &b) == 0);
        CHECK(b->n_hashed == 1);
        CHECK(catalogue_diff(a, b, &added, &removed, &modified) == 0);
        CHECK(!added && !removed && !modified);

        /* rewritten in place: both descriptors naming it are modified */
        test_write_file(root, "img/CODE.fd", "new code");
        CHECK(catalogue_update(b, (char *[]) { NULL }, true, &c) == 0);
        CHECK(c->n_hashed == 1);
        CHECK(catalogue_diff(b, c, &added, &removed, &modified) == 0);
        CHECK(!added && !removed);
        CHECK(strv_length(modified) == 2);
        CHECK(c->entries[0].image.facts->size == 8);

        /* deleted: files-missing, and a modification */
        catalogue_free(a);
        strv_free(modified);
        modified = NULL;
        CHECK(unlink(code) == 0);
        CHECK(catalogue_update(c, (char *[]) { NULL }, true, &a) == 0);
        CHECK(a->n_hashed == 0);
        CHECK_STREQ(entry_state_name(&a->entries[0]), "files-missing");
        CHECK(!a->entries[0].image.facts);
        CHECK(catalogue_diff(c, a, &added, &removed, &modified) == 0);
        CHECK(strv_length(modified) == 2);

        catalogue_free(a);
        catalogue_free(b);
        catalogue_free(c);
        test_tmpdir_remove(root);
}

int main(void) {
        RUN(test_digest);
        RUN(test_cache);
        RUN(test_unreadable);
        RUN(test_rebuilds);
        return 0;
}
