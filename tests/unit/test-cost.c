/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What a request costs, counted rather than timed: every strcmp() the core makes goes through --wrap. A caller
 * may name 1,024 features this build does not know; whether false (no descriptor has them, so they reject
 * nothing) or true (they reject everything), they must not cost a comparison for each descriptor times each
 * name. And a List page that is full ends the walk. */

#include "catalogue/catalogue.h"
#include "resolver/resolver.h"
#include "tests.h"

#define N_DESCRIPTORS 2000U
#define N_FEATURES 1024U
#define VENDOR_FEATURES 10U

#define RUN_WITH(test, arg)                                     \
        do {                                                    \
                fprintf(stderr, "== %s\n", #test);              \
                test(arg);                                      \
        } while (0)

static const char *const system_dirs[] = { "/usr/share/qemu/firmware", "/etc/qemu/firmware", NULL };
static size_t n_strcmp;

int __real_strcmp(const char *a, const char *b);
int __wrap_strcmp(const char *a, const char *b);

int __wrap_strcmp(const char *a, const char *b) {
        n_strcmp++;
        return __real_strcmp(a, b);
}

/* N_DESCRIPTORS x86_64 descriptors, each with one feature this build does not know (x-vendor-0 to 9). */
static Catalogue *make_catalogue(char **ret_root) {
        char *root = test_tmpdir_new();
        Catalogue *c = NULL;

        for (unsigned i = 0; i < N_DESCRIPTORS; i++) {
                _cleanup_(freep) char *name = strdup_printf("usr/share/qemu/firmware/%05u-x86.json", i);
                _cleanup_(freep) char *json = strdup_printf(
                        "{ \"description\": \"%u\", \"interface-types\": [ \"uefi\" ], \"mapping\": { "
                        "\"device\": \"flash\", \"executable\": { \"filename\": \"/fw/CODE.fd\", \"format\": "
                        "\"raw\" }, \"nvram-template\": { \"filename\": \"/fw/VARS.fd\", \"format\": \"raw\" } },"
                        " \"targets\": [ { \"architecture\": \"x86_64\", \"machines\": [ \"pc-q35-*\" ] } ], "
                        "\"features\": [ \"acpi-s3\", \"x-vendor-%u\" ], \"tags\": [] }\n", i, i % VENDOR_FEATURES);
                CHECK(name && json);
                test_write_file(root, name, json);
        }
        test_write_file(root, "fw/CODE.fd", "code");
        test_write_file(root, "fw/VARS.fd", "vars");
        CHECK(catalogue_build((char **) system_dirs, root, NULL, &c) == 0);
        CHECK(c->n_valid == N_DESCRIPTORS);
        *ret_root = root;
        return c;
}

/* x86_64 on q35, and the unknown names x-unknown-0000 to 1023 set to want; with also, one more. */
static void make_request(Request *r, bool features, bool want, const char *also) {
        *r = (Request) { .has_architecture = true, .architecture = ARCH_X86_64, .machine = strdup("pc-q35-9.2") };
        CHECK(r->machine);
        for (unsigned i = 0; features && i < N_FEATURES; i++) {
                char name[32];

                snprintf(name, sizeof(name), "x-unknown-%04u", i);
                CHECK(request_set_feature(r, name, want) == 0);
        }
        if (also)
                CHECK(request_set_feature(r, also, want) == 0);
}

/* The comparisons a Resolve that matches nothing makes, with the NoMatch summary the daemon then builds. */
static size_t cost_of_no_match(const Catalogue *c, const Request *r) {
        _cleanup_(freep) char *summary = NULL;
        const Entry *e = NULL;
        size_t before = n_strcmp;

        CHECK(resolver_resolve(c, r, &e) == 0);
        CHECK(resolver_summarize(c, r, &summary) == 0);
        return n_strcmp - before;
}

/* What one request costs besides the descriptors: sorting its names, and looking each up in the catalogue's
 * feature set. */
static size_t per_request_bound(void) {
        return N_FEATURES * 2 * 16;
}

/* Taking the names in: each is compared with the known features, then looked up among the names before it,
 * by halves (10 steps for 1,024), not one by one (512 on average). */
static void test_names_taken_in(void) {
        _cleanup_(request_done) Request r = {};
        size_t before = n_strcmp;

        make_request(&r, true, false, NULL);
        fprintf(stderr, "%u names taken in with %zu comparisons\n", N_FEATURES, n_strcmp - before);
        CHECK(n_strcmp - before <= N_FEATURES * 32);
        CHECK(strv_length(r.unknown_forbidden) == N_FEATURES);
        for (size_t i = 1; i < N_FEATURES; i++)
                CHECK(strcmp(r.unknown_forbidden[i - 1], r.unknown_forbidden[i]) < 0);
        CHECK(request_set_feature(&r, "x-unknown-0500", false) == 0);
        CHECK(strv_length(r.unknown_forbidden) == N_FEATURES);
}

static void test_unknown_false_features_cost_nothing(const Catalogue *c) {
        _cleanup_(request_done) Request plain = {}, with = {};
        const Entry *e = NULL;
        size_t a, b;

        /* the machine keeps everything out: a NoMatch, whose summary judges every descriptor */
        make_request(&plain, false, false, NULL);
        make_request(&with, true, false, NULL);
        free(plain.machine), plain.machine = strdup("x-no-such-machine");
        free(with.machine), with.machine = strdup("x-no-such-machine");
        a = cost_of_no_match(c, &plain);
        b = cost_of_no_match(c, &with);
        fprintf(stderr, "NoMatch: %zu comparisons plain, %zu with %u unknown features false\n", a, b, N_FEATURES);
        CHECK(b <= a + per_request_bound());

        /* and they still reject nothing */
        free(with.machine);
        with.machine = strdup("pc-q35-9.2");
        CHECK(resolver_resolve(c, &with, &e) == 1);
        CHECK_STREQ(e->name, "00000-x86.json");
}

static void test_unknown_true_features_cost_nothing(const Catalogue *c) {
        _cleanup_(request_done) Request plain = {}, with = {};
        _cleanup_(strv_freep) char **reasons = NULL;
        size_t a, b;

        make_request(&plain, false, false, NULL);
        free(plain.machine), plain.machine = strdup("x-no-such-machine");
        make_request(&with, true, true, NULL);
        a = cost_of_no_match(c, &plain);
        b = cost_of_no_match(c, &with);
        fprintf(stderr, "NoMatch: %zu comparisons plain, %zu with %u unknown features true\n", a, b, N_FEATURES);
        /* each is a reason for every descriptor, of which the summary tallies the first 16 by name */
        CHECK(b <= a + per_request_bound() + N_DESCRIPTORS * RESOLVER_REASONS_MAX * 8);

        /* every one is a reason, the first 16 by name and the rest counted */
        CHECK(resolver_match(c, &c->entries[0], &with, REQUEST_RESOLVE, &reasons) == 0);
        CHECK(strv_length(reasons) == 17);
        CHECK_STREQ(reasons[0], "feature-missing:x-unknown-0000");
        CHECK_STREQ(reasons[16], "1008 more left out");
}

/* Features some descriptors have are looked up by their names, both ways. */
static void test_present_features(const Catalogue *c) {
        _cleanup_(request_done) Request forbid = {}, require = {};
        _cleanup_(strv_freep) char **reasons = NULL;
        const Entry *e = NULL;

        make_request(&forbid, true, false, "x-vendor-0");
        CHECK(resolver_resolve(c, &forbid, &e) == 1);
        CHECK_STREQ(e->name, "00001-x86.json");
        CHECK(resolver_match(c, &c->entries[0], &forbid, REQUEST_RESOLVE, &reasons) == 0);
        CHECK(strv_length(reasons) == 1);
        CHECK_STREQ(reasons[0], "feature-forbidden:x-vendor-0");

        make_request(&require, false, true, "x-vendor-3");
        CHECK(resolver_resolve(c, &require, &e) == 1);
        CHECK_STREQ(e->name, "00003-x86.json");
        CHECK(request_set_feature(&require, "x-vendor-4", true) == 0);
        CHECK(resolver_resolve(c, &require, &e) == 0);
}

typedef struct Page {
        size_t limit, sent, calls;
} Page;

/* The bus's List walk in small: take what is included until the page is full, then say so. */
static int on_entry(const Entry *e, bool included, void *userdata) {
        Page *p = userdata;

        p->calls++;
        p->sent += included;
        return p->sent >= p->limit;
}

static void test_full_page_ends_the_walk(const Catalogue *c) {
        _cleanup_(request_done) Request r = {};
        Page page = { .limit = 1 };
        size_t before;

        /* a forbidden name that some descriptors have: it is looked up for each descriptor walked */
        make_request(&r, true, false, "x-vendor-5");
        before = n_strcmp;
        CHECK(resolver_filter(c, &r, on_entry, &page) == 0);
        fprintf(stderr, "List limit=1: %zu entries walked, %zu comparisons\n", page.calls, n_strcmp - before);
        CHECK(page.calls == 1);
        CHECK(page.sent == 1);
        CHECK(n_strcmp - before <= per_request_bound());
}

int main(void) {
        _cleanup_(freep) char *root = NULL;
        _cleanup_(catalogue_freep) Catalogue *c = make_catalogue(&root);

        RUN(test_names_taken_in);
        RUN_WITH(test_unknown_false_features_cost_nothing, c);
        RUN_WITH(test_unknown_true_features_cost_nothing, c);
        RUN_WITH(test_present_features, c);
        RUN_WITH(test_full_page_ends_the_walk, c);
        test_tmpdir_remove(root);
        return 0;
}
