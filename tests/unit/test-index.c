/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The indexed walks (Resolve and List through the architecture lists and the machine-glob buckets) against
 * a plain walk over every entry in rank order, on random catalogues and random requests. */

#include "config.h"
#include "resolver.h"
#include "tests.h"

#define CATALOGUES 150
#define DESCRIPTORS_MAX 40
#define REQUESTS 250

static const char *const dirs[] = { "/usr/share/qemu/firmware", "/etc/qemu/firmware", NULL };

/* Globs as descriptors write them, and some that stress the prefix rule: classes, '?', escapes, "*". */
static const char *const globs[] = {
        "pc-q35-*", "pc-q35-9.*", "pc-q35-10.*", "pc-q35-9.2", "pc-q35-11.0", "pc-q35-1?.*", "pc-[iq]*",
        "pc-i440fx-*", "pc-i440fx-9.2", "*", "virt-*", "virt", "virt-9.*", "microvm",
        "pc-q35-\\\\*", "virt-\\\\9*",     /* pc-q35-\* and virt-\9*, escaped for JSON */
        "pc-q35-rhel9.6.0", "pc-q35-[0-9]*", "?c-q35-9.2", "",
};

/* Machine names as callers send them: aliases, versioned types, names nobody lists, glob characters. */
static const char *const machines[] = {
        "q35", "pc", "virt", "pc-q35-9.2", "pc-q35-9.1", "pc-q35-10.0", "pc-q35-11.0", "pc-i440fx-9.2",
        "pc-i440fx-8.0", "virt-9.0", "virt-11.0", "microvm", "pc-q35-*", "pc-q35-rhel9.6.0", "pc-q35-1x.0",
        "pc", "x", "pc-q35-", "virt-", "isapc",
};

static const char *const architectures[] = { "x86_64", "i386", "aarch64", "arm" };
static const char *const features[] = { "secure-boot", "enrolled-keys", "requires-smm", "acpi-s3", "amd-sev",
                                        "x-vendor-thing" };
static const char *const interfaces[] = { "uefi", "bios", "openfirmware", "uboot" };

static uint64_t seed = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n) {
        /* xorshift64*: the same catalogues and requests every run */
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        return (unsigned) ((seed * 0x2545f4914f6cdd1dULL) >> 33) % n;
}

static void append_list(StrBuf *b, const char *const *pool, size_t n_pool, unsigned count) {
        for (unsigned i = 0; i < count; i++)
                strbuf_printf(b, "%s\"%s\"", i ? ", " : "", pool[rnd((unsigned) n_pool)]);
}

static void append_mapping(StrBuf *b, const char *root) {
        static const char *const images[] = { "A.fd", "B.fd", "MISSING.fd" };
        const char *image = images[rnd(3)], *vars = images[rnd(3)];

        switch (rnd(4)) {
        case 0:
                strbuf_printf(b, "\"device\": \"memory\", \"filename\": \"/fw/%s\"", image);
                break;
        case 1:
                strbuf_printf(b, "\"device\": \"kernel\", \"filename\": \"/fw/%s\"", image);
                break;
        default:
                strbuf_printf(b, "\"device\": \"flash\", \"executable\": { \"filename\": \"/fw/%s\", "
                              "\"format\": \"%s\" }, \"nvram-template\": { \"filename\": \"/fw/%s\", "
                              "\"format\": \"raw\" }", image, rnd(4) ? "raw" : "qcow2", vars);
        }
}

static char *random_descriptor(const char *root) {
        StrBuf b = {};
        unsigned n_targets = 1 + rnd(2);

        strbuf_puts(&b, "{ \"description\": \"random\", \"interface-types\": [ ");
        append_list(&b, interfaces, ELEMENTSOF(interfaces), 1 + rnd(2));
        strbuf_puts(&b, " ], \"mapping\": { ");
        append_mapping(&b, root);
        strbuf_puts(&b, " }, \"targets\": [ ");
        for (unsigned i = 0; i < n_targets; i++) {
                strbuf_printf(&b, "%s{ \"architecture\": \"%s\", \"machines\": [ ", i ? ", " : "",
                              architectures[rnd(ELEMENTSOF(architectures))]);
                append_list(&b, globs, ELEMENTSOF(globs), rnd(4));
                strbuf_puts(&b, " ] }");
        }
        strbuf_puts(&b, " ], \"features\": [ ");
        append_list(&b, features, ELEMENTSOF(features), rnd(4));
        strbuf_puts(&b, " ], \"tags\": [] }\n");
        return strbuf_steal(&b);
}

/* Random valid descriptors in both directories, with shadowed, masked and invalid ones among them. */
static Catalogue *random_catalogue(char **ret_root) {
        char *root = test_tmpdir_new();
        unsigned n = 1 + rnd(DESCRIPTORS_MAX);
        Catalogue *c = NULL;

        test_write_file(root, "fw/A.fd", "a");
        test_write_file(root, "fw/B.fd", "b");
        for (unsigned i = 0; i < n; i++) {
                const char *dir = rnd(5) ? "usr/share/qemu/firmware" : "etc/qemu/firmware";
                _cleanup_(freep) char *name = strdup_printf("%s/%02u-fw.json", dir, rnd(60));
                _cleanup_(freep) char *json = rnd(12) ? random_descriptor(root) : strdup(rnd(2) ? "" : "{ x");

                CHECK(name && json);
                test_write_file(root, name, json);
        }
        CHECK(catalogue_build((char **) dirs, root, NULL, &c) == 0);
        *ret_root = root;
        return c;
}

static void random_request(Request *r) {
        *r = (Request) {};
        if (rnd(8)) {
                r->has_architecture = true;
                r->architecture = architecture_from_string(architectures[rnd(ELEMENTSOF(architectures))]);
        }
        if (rnd(5))
                CHECK(r->machine = strdup(machines[rnd(ELEMENTSOF(machines))]));
        if (rnd(3) == 0) {
                r->has_interface = true;
                r->interface = rnd(_INTERFACE_MAX);
        }
        if (rnd(4) == 0) {
                r->has_device = true;
                r->device = rnd(_DEVICE_MAX);
        }
        for (unsigned i = rnd(3); i > 0; i--)
                CHECK(request_set_feature(r, features[rnd(ELEMENTSOF(features))], rnd(3) > 0) == 0);
        if (rnd(4) == 0) {
                r->has_smm = true;
                r->smm = rnd(2);
        }
        if (rnd(4) == 0) {
                r->has_check_files = true;
                r->check_files = rnd(2);
        }
        r->include_invalid = rnd(8) == 0;
        r->include_masked = rnd(8) == 0;
        r->include_shadowed = rnd(8) == 0;
}

/* Resolve the plain way: the first valid entry in rank order that matches. */
static const Entry *linear_resolve(const Catalogue *c, const Request *req) {
        for (size_t i = 0; i < c->n_entries; i++)
                if (resolver_match(c, &c->entries[i], req, REQUEST_RESOLVE, NULL) > 0)
                        return &c->entries[i];
        return NULL;
}

static bool linear_includes(const Catalogue *c, const Entry *e, const Request *req) {
        if (e->state == ENTRY_MASKED)
                return req->include_masked;
        if (e->state == ENTRY_INVALID)
                return req->include_invalid;
        return resolver_match(c, e, req, REQUEST_FILTER, NULL) > 0;
}

typedef struct Listed {
        const Entry *entries[2 * DESCRIPTORS_MAX];
        size_t n;
        const Entry *last;
} Listed;

static int on_filter(const Entry *e, bool included, void *userdata) {
        Listed *l = userdata;

        CHECK(!l->last || e > l->last);         /* rank order, each once */
        l->last = e;
        if (included)
                l->entries[l->n++] = e;
        return 0;
}

static unsigned check_request(const Catalogue *c, Request *req) {
        Listed listed = {};
        size_t n = 0;

        if (req->has_architecture) {
                const Entry *e = NULL, *expected = linear_resolve(c, req);
                int r = resolver_resolve(c, req, &e);

                CHECK(r >= 0);
                if ((r == 1 ? e : NULL) != expected) {
                        _cleanup_(freep) char *s = request_to_string(req, REQUEST_RESOLVE);
                        fprintf(stderr, "%s: indexed '%s', linear '%s'\n", s, r == 1 ? e->name : "-",
                                expected ? expected->name : "-");
                        CHECK(false);
                }
        }
        CHECK(resolver_filter(c, req, on_filter, &listed) == 0);
        for (size_t i = 0; i < c->n_entries; i++)
                if (linear_includes(c, &c->entries[i], req)) {
                        CHECK(n < listed.n);
                        CHECK(listed.entries[n] == &c->entries[i]);
                        n++;
                }
        CHECK(n == listed.n);
        return req->has_architecture ? 2 : 1;
}

static void test_differential(void) {
        unsigned cases = 0, matched = 0;

        for (unsigned i = 0; i < CATALOGUES; i++) {
                _cleanup_(freep) char *root = NULL;
                _cleanup_(catalogue_freep) Catalogue *c = random_catalogue(&root);

                for (unsigned j = 0; j < REQUESTS; j++) {
                        _cleanup_(request_done) Request req = {};
                        const Entry *e;

                        random_request(&req);
                        cases += check_request(c, &req);
                        matched += req.has_architecture && resolver_resolve(c, &req, &e) == 1;
                }
                test_tmpdir_remove(root);
        }
        fprintf(stderr, "%u cases (Resolve and List) on %u random catalogues, indexed equal to linear; "
                "%u resolves found a match\n", cases, CATALOGUES, matched);
}

int main(void) {
        RUN(test_differential);
        return 0;
}
