/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The indexed walks (Resolve and List through the architecture lists and the machine-glob buckets) against
 * a plain walk over every entry in rank order, and Explain's streamed verdicts against verdicts made entry by
 * entry as Explain made them when it kept them all, on random catalogues and random requests. */

#include "config.h"
#include "resolver/resolver.h"
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

/* A verdict as text, "name kind reason|reason|...", to compare. */
static char *verdict_text(const Entry *e, VerdictKind kind, char * const *reasons) {
        StrBuf b = {};

        strbuf_printf(&b, "%s %s", e->name, verdict_kind_to_string(kind));
        for (size_t i = 0; reasons && reasons[i]; i++)
                strbuf_printf(&b, "%c%s", i ? '|' : ' ', reasons[i]);
        return strbuf_steal(&b);
}

static void push_text(char ***l, const Entry *e, VerdictKind kind, char * const *reasons) {
        CHECK(strv_consume(l, verdict_text(e, kind, reasons)) >= 0);
}

/* The verdict of one entry as the explanation that kept every verdict made it: the matcher's reasons, the
 * alias note, parse errors, masks. */
static void reference_entry(const Catalogue *c, const Entry *e, const Request *req, const Entry **selected,
                            char ***texts) {
        _cleanup_(strv_freep) char **reasons = calloc(1, sizeof(char *));
        const char *versioned = req->machine ? machine_alias_lookup(req->machines, req->machine,
                                                                    req->architecture) : NULL;
        int r;

        CHECK(reasons);
        if (e->state == ENTRY_MASKED) {
                CHECK(strv_consume(&reasons, strdup_printf("masked-by:%s", e->path)) >= 0);
                push_text(texts, e, VERDICT_MASKED, reasons);
                return;
        }
        if (e->state == ENTRY_INVALID) {
                for (size_t i = 0; i < e->descriptor->n_problems; i++) {
                        _cleanup_(freep) char *p = NULL;

                        if (e->descriptor->problems[i].severity != PROBLEM_ERROR)
                                continue;
                        CHECK(p = problem_to_string(&e->descriptor->problems[i]));
                        CHECK(strv_consume(&reasons, strdup_printf("parse-error:%s", p)) >= 0);
                }
                push_text(texts, e, VERDICT_INVALID, reasons);
                return;
        }
        r = resolver_match(c, e, req, REQUEST_RESOLVE, &reasons);
        CHECK(r >= 0);
        if (versioned && (e->descriptor->architecture_mask & (1U << req->architecture)))
                CHECK(strv_consume(&reasons, strdup_printf("machine-alias:%s=%s", req->machine,
                                                           versioned)) >= 0);
        push_text(texts, e, r == 0 ? VERDICT_REJECTED : *selected ? VERDICT_ELIGIBLE : VERDICT_SELECTED,
                  reasons);
        if (r > 0 && !*selected)
                *selected = e;
}

static char **reference_explain(const Catalogue *c, const Request *req) {
        const Entry *selected = NULL;
        char **texts = NULL;

        for (size_t i = 0; i < c->n_entries; i++) {
                const Entry *e = &c->entries[i];
                bool masked = e->state == ENTRY_MASKED;

                if (!masked || !e->shadowed)
                        reference_entry(c, e, req, &selected, &texts);
                STRV_FOREACH(s, e->shadowed) {
                        _cleanup_(freep) char *reason = strdup_printf("%s:%s",
                                                                      masked ? "masked-by" : "shadowed-by",
                                                                      e->path);
                        char *one[] = { reason, NULL };

                        CHECK(reason);
                        push_text(&texts, e, masked ? VERDICT_MASKED : VERDICT_SHADOWED, one);
                }
        }
        return texts ?: calloc(1, sizeof(char *));
}

typedef struct Streamed {
        char **texts;
        const Entry *selected;
        size_t n, stop_after;           /* stop_after: return -ENOBUFS at that verdict (0: never) */
} Streamed;

static int on_verdict(Verdict *v, void *userdata) {
        Streamed *s = userdata;

        push_text(&s->texts, v->entry, v->kind, v->reasons);
        if (v->kind == VERDICT_SELECTED)
                s->selected = v->entry;
        return ++s->n == s->stop_after ? -ENOBUFS : 0;
}

static void check_explain(const Catalogue *c, const Request *req) {
        _cleanup_(strv_freep) char **expected = reference_explain(c, req);
        _cleanup_(explanation_done) Explanation x = {};
        _cleanup_(freep) char *streamed_summary = NULL, *kept_summary = NULL;
        Streamed s = {}, cut = {};
        const Entry *e = NULL;
        size_t n = strv_length(expected);

        CHECK(resolver_explain_foreach(c, req, on_verdict, &s) == 0);
        for (size_t i = 0; i < n || i < s.n; i++)
                if (i >= n || i >= s.n || !streq(expected[i], s.texts[i])) {
                        fprintf(stderr, "verdict %zu: expected '%s', streamed '%s'\n", i,
                                i < n ? expected[i] : "-", i < s.n ? s.texts[i] : "-");
                        CHECK(false);
                }
        CHECK(s.selected == (resolver_resolve(c, req, &e) == 1 ? e : NULL));
        strv_free(s.texts);

        /* stops at the verdict whose callback says so, with its code */
        cut.stop_after = n > 0 ? 1 + rnd((unsigned) n) : 0;
        CHECK(resolver_explain_foreach(c, req, on_verdict, &cut) == (n > 0 ? -ENOBUFS : 0));
        CHECK(cut.n == (n > 0 ? cut.stop_after : 0));
        strv_free(cut.texts);

        /* the NoMatch text made in one walk is the one made from every verdict kept */
        CHECK(resolver_explain(c, req, &x) == 0);
        CHECK(x.n_verdicts == n);
        CHECK(kept_summary = explanation_summary(&x, req));
        CHECK(resolver_summarize(c, req, &streamed_summary) == 0);
        CHECK_STREQ(streamed_summary, kept_summary);
}

static void test_explain_differential(void) {
        unsigned cases = 0;

        for (unsigned i = 0; i < CATALOGUES / 3; i++) {
                _cleanup_(freep) char *root = NULL;
                _cleanup_(catalogue_freep) Catalogue *c = random_catalogue(&root);

                for (unsigned j = 0; j < REQUESTS / 5; j++) {
                        _cleanup_(request_done) Request req = {};

                        random_request(&req);
                        if (!req.has_architecture)
                                continue;
                        if (rnd(4) == 0)
                                CHECK(strv_consume(&req.exclude,
                                                   strdup_printf("%02u-fw.json", rnd(60))) >= 0);
                        check_explain(c, &req);
                        cases++;
                }
                test_tmpdir_remove(root);
        }
        fprintf(stderr, "%u Explain requests on %u random catalogues, streamed equal to kept\n", cases,
                CATALOGUES / 3);
}

int main(void) {
        RUN(test_differential);
        RUN(test_explain_differential);
        return 0;
}
