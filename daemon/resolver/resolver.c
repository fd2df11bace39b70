/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Matching a request against catalogue entries: machine aliases, the match rules with their reasons, and the
 * indexed candidate walks behind Resolve and List. Explain's verdicts and summary are in resolver-explain.c. */

#include <stdio.h>
#include <sys/stat.h>

#include "util/chase.h"
#include "config.h"
#include "resolver-internal.h"

/* Callers often hold an alias where descriptors list versioned types (QEMU asks descriptors not to list
 * aliases). An alias matches whatever the current versioned type of its family matches; see docs/resolution.md. */
static const struct {
        const char *alias;
        uint32_t architectures;
        const char *versioned;
} machine_aliases[] = {
        { "q35", ARCH_BIT(ARCH_X86_64) | ARCH_BIT(ARCH_I386), "pc-q35-" QEMU_CURRENT_MACHINE_VERSION },
        { "pc", ARCH_BIT(ARCH_X86_64) | ARCH_BIT(ARCH_I386), "pc-i440fx-" QEMU_CURRENT_MACHINE_VERSION },
        { "virt", ARCH_BIT(ARCH_AARCH64) | ARCH_BIT(ARCH_ARM), "virt-" QEMU_CURRENT_MACHINE_VERSION },
};

const char *machine_alias_expand(const char *machine, Architecture a) {
        for (size_t i = 0; i < ELEMENTSOF(machine_aliases); i++)
                if ((machine_aliases[i].architectures & ARCH_BIT(a)) && streq(machine_aliases[i].alias, machine))
                        return machine_aliases[i].versioned;
        return NULL;
}

const char *machine_alias_lookup(const QemuMachines *q, const char *machine, Architecture a) {
        const QemuArch *qa = qemu_machines_arch(q, a);

        if (!qa)
                return machine_alias_expand(machine, a);
        for (size_t i = 0; i < qa->n_aliases; i++)
                if (streq(qa->aliases[i].alias, machine))
                        return qa->aliases[i].machine;
        return NULL;
}

int machine_aliases_foreach(const QemuMachines *q, Architecture a,
                            int (*f)(const char *alias, const char *machine, const char *source, void *userdata),
                            void *userdata) {
        const QemuArch *qa = qemu_machines_arch(q, a);
        int r = 0;

        if (qa) {
                _cleanup_(freep) char *source = qemu_arch_source(qa);

                if (!source)
                        return -ENOMEM;
                for (size_t i = 0; i < qa->n_aliases && r >= 0; i++)
                        r = f(qa->aliases[i].alias, qa->aliases[i].machine, source, userdata);
                return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(machine_aliases) && r >= 0; i++)
                if (machine_aliases[i].architectures & ARCH_BIT(a))
                        r = f(machine_aliases[i].alias, machine_aliases[i].versioned, "built-in", userdata);
        return r;
}

int request_check(const Request *r, char **ret_message) {
        uint64_t enrolled = UINT64_C(1) << FEATURE_ENROLLED_KEYS, secure = UINT64_C(1) << FEATURE_SECURE_BOOT;

        if ((r->features_required & enrolled) && (r->features_forbidden & secure)) {
                char *msg = strdup("Contradictory request: feature 'enrolled-keys' is required but 'secure-boot' "
                                   "is forbidden, and keys are only enrolled for secure boot");
                if (!msg)
                        return -ENOMEM;
                *ret_message = msg;
                return -EINVAL;
        }
        return 0;
}

void request_done(Request *r) {
        free(r->machine);
        strv_free(r->unknown_required);
        strv_free(r->unknown_forbidden);
        strv_free(r->exclude);
        free(r->executable);
        free(r->nvram_template);
        strv_free(r->certificates);
        *r = (Request) {};
}

/* Adds a copy of name to a sorted list unless it is there: a thousand names cost n log n comparisons to take
 * in, not n^2. Returns 0 or -ENOMEM. */
static int sorted_strv_add(char ***l, size_t *n_l, const char *name) {
        size_t n = *n_l, lo = 0, hi = n;
        char **t, *copy;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp((*l)[mid], name);

                if (c == 0)
                        return 0;
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        /* room for n + 1 names and the NULL, grown whenever n + 1 is a power of two */
        t = ((n + 1) & n) ? *l : realloc(*l, (n + 1) * 2 * sizeof(char *));
        if (!t) {
                free(copy);
                return -ENOMEM;
        }
        memmove(&t[lo + 1], &t[lo], (n - lo) * sizeof(char *));
        t[lo] = copy;
        t[n + 1] = NULL;
        *l = t;
        (*n_l)++;
        return 0;
}

int request_set_feature(Request *r, const char *name, bool want) {
        Feature f = feature_from_string(name);

        if (f >= 0) {
                uint64_t bit = UINT64_C(1) << f;
                r->features_required = want ? r->features_required | bit : r->features_required & ~bit;
                r->features_forbidden = want ? r->features_forbidden & ~bit : r->features_forbidden | bit;
                return 0;
        }
        return want ? sorted_strv_add(&r->unknown_required, &r->n_unknown_required, name) :
                      sorted_strv_add(&r->unknown_forbidden, &r->n_unknown_forbidden, name);
}

char *request_to_string(const Request *r, RequestKind kind) {
        bool resolve = kind == REQUEST_RESOLVE;
        StrBuf b = {};

        strbuf_puts(&b, r->has_architecture ? architecture_to_string(r->architecture) : "any architecture");
        if (r->machine)
                strbuf_printf(&b, " machine '%s'", r->machine);

        if (r->has_interface || resolve)
                strbuf_printf(&b, " %s", interface_type_to_string(r->has_interface ? r->interface : INTERFACE_UEFI));
        if (r->has_device)
                strbuf_printf(&b, " device=%s", device_to_string(r->device));
        if (r->has_mode)
                strbuf_printf(&b, " mode=%s", flash_mode_to_string(r->mode));
        for (int f = 0; f < _FEATURE_MAX; f++) {
                if (r->features_required & (UINT64_C(1) << f))
                        strbuf_printf(&b, " +%s", feature_to_string(f));
                if (r->features_forbidden & (UINT64_C(1) << f))
                        strbuf_printf(&b, " -%s", feature_to_string(f));
        }
        STRV_FOREACH(s, r->unknown_required)
                strbuf_printf(&b, " +%s", *s);
        STRV_FOREACH(s, r->unknown_forbidden)
                strbuf_printf(&b, " -%s", *s);
        if (r->has_smm)
                strbuf_printf(&b, " smm=%s", r->smm ? "yes" : "no");
        if (r->executable)
                strbuf_printf(&b, " executable='%s'", r->executable);
        if (r->nvram_template)
                strbuf_printf(&b, " nvram-template='%s'", r->nvram_template);
        if (r->has_nvram) {
                _cleanup_(freep) char *layout = varstore_to_string(&r->nvram);
                strbuf_printf(&b, " nvram=(%s)", strna(layout));
        }
        STRV_FOREACH(id, r->certificates)
                strbuf_printf(&b, " certificate=%s", *id);
        return strbuf_steal(&b);
}

RequestPath request_path_find(const char *root, const char *path) {
        RequestPath found = {};
        struct stat st;
        int root_fd;

        if (!path)
                return found;
        root_fd = chase_root_open(root);
        if ((root_fd >= 0 || root_fd == AT_FDCWD) && chase_stat(root_fd, path, &st) >= 0)
                found = (RequestPath) { .exists = true, .dev = st.st_dev, .ino = st.st_ino };
        chase_root_close(root_fd);
        return found;
}

void request_look_up_paths(Request *r, const Catalogue *c) {
        r->executable_found = request_path_find(c->root, r->executable);
        r->nvram_template_found = request_path_find(c->root, r->nvram_template);
        r->paths_looked_up = true;
}

static void path_key_init(const char *path, const RequestPath *found, PathKey *ret) {
        *ret = (PathKey) { .path = path, .exists = found->exists, .dev = found->dev, .ino = found->ino };
}

static int string_ptr_compare(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* Whether name is in a sorted list (which may be NULL when n is 0). */
static bool sorted_contains(const char * const *l, size_t n, const char *name) {
        return n > 0 && bsearch(&name, l, n, sizeof(char *), string_ptr_compare);
}

/* The names of l, sorted and unique, leaving out those that no valid descriptor of c has when only_present.
 * request_set_feature() keeps them sorted; a request made otherwise is sorted here. */
static int sorted_names(const Catalogue *c, char * const *l, bool only_present, const char ***ret, size_t *ret_n) {
        size_t n = 0, k = 0, n_present = strv_length(c->features);
        bool sorted = true;
        const char **v;

        *ret = NULL;
        *ret_n = 0;
        if (!l || !l[0])
                return 0;
        v = calloc(strv_length(l), sizeof(char *));
        if (!v)
                return -ENOMEM;
        STRV_FOREACH(s, l)
                if (!only_present || sorted_contains((const char * const *) c->features, n_present, *s)) {
                        sorted = sorted && (n == 0 || strcmp(v[n - 1], *s) < 0);
                        v[n++] = *s;
                }
        if (!sorted) {
                qsort(v, n, sizeof(char *), string_ptr_compare);
                for (size_t i = 0; i < n; i++)
                        if (k == 0 || !streq(v[k - 1], v[i]))
                                v[k++] = v[i];
                n = k;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int match_context_init(const Catalogue *c, const Request *req, MatchContext *ret) {
        RequestPath executable = req->executable_found, vars = req->nvram_template_found;

        *ret = (MatchContext) {};
        if (!req->paths_looked_up) {
                executable = request_path_find(c->root, req->executable);
                vars = request_path_find(c->root, req->nvram_template);
        }
        path_key_init(req->executable, &executable, &ret->executable);
        path_key_init(req->nvram_template, &vars, &ret->nvram_template);
        for (int a = 0; a < _ARCH_MAX; a++)
                ret->expanded[a] = req->machine ? machine_alias_lookup(req->machines, req->machine, a) : NULL;
        if (sorted_names(c, req->unknown_required, false, &ret->required, &ret->n_required) < 0 ||
            sorted_names(c, req->unknown_forbidden, true, &ret->forbidden, &ret->n_forbidden) < 0)
                return -ENOMEM;
        return 0;
}

void match_context_done(MatchContext *ctx) {
        free(ctx->required);
        free(ctx->forbidden);
        ctx->required = ctx->forbidden = NULL;
        ctx->n_required = ctx->n_forbidden = 0;
}

static bool path_key_matches(const PathKey *k, const char *path, const FileCheck *f) {
        if (!path)
                return false;
        if (k->exists && f->ok)
                return k->dev == f->dev && k->ino == f->ino;
        return streq(k->path, path);
}

#define MORE_SUFFIX " more left out"

/* The number in the "N more left out" that ends a full list of reasons, or 0. */
size_t reasons_left_out(char * const *reasons, size_t n) {
        if (n < RESOLVER_REASONS_MAX || !endswith(reasons[n - 1], MORE_SUFFIX))
                return 0;
        return strtoul(reasons[n - 1], NULL, 10);
}

/* Appends "name" or "name:detail"; when reasons is NULL the caller only wants to know whether to stop. Past
 * RESOLVER_REASONS_MAX, only the count in the last one grows. */
static int reason(char ***reasons, const char *name, const char *detail) {
        size_t n;

        if (!reasons)
                return 0;
        n = strv_length(*reasons);      /* at most RESOLVER_REASONS_MAX */
        if (n + 1 >= RESOLVER_REASONS_MAX) {
                size_t more = n + 1 == RESOLVER_REASONS_MAX ? 1 : reasons_left_out(*reasons, n) + 1;
                char *s = strdup_printf("%zu" MORE_SUFFIX, more);

                if (!s)
                        return -ENOMEM;
                if (n + 1 == RESOLVER_REASONS_MAX)
                        return strv_consume(reasons, s) < 0 ? -ENOMEM : 1;
                free((*reasons)[n - 1]);
                (*reasons)[n - 1] = s;
                return 1;
        }
        if (strv_consume(reasons, detail ? strdup_printf("%s:%s", name, detail) : strdup(name)) < 0)
                return -ENOMEM;
        return 1;
}

#define REJECT(name, detail)                            \
        do {                                            \
                int _r = reason(reasons, name, detail); \
                if (_r <= 0)                            \
                        return _r;                      \
        } while (0)

static bool machine_matches(const Descriptor *d, Architecture a, const char *machine, const MatchContext *ctx) {
        if (descriptor_matches_target(d, a, machine))
                return true;
        return ctx->expanded[a] && descriptor_matches_target(d, a, ctx->expanded[a]);
}

/* The fit rule of DESIGN section 9: only a split-flash template the caller's varstore fits. */
static bool nvram_fits(const Entry *e, const Varstore *nvram) {
        const Descriptor *d = e->descriptor;

        if (d->device != DEVICE_FLASH || d->mode != FLASH_MODE_SPLIT || !e->vars.facts)
                return false;
        return varstore_fits(nvram, &e->vars.facts->varstore);
}

static bool format_ok(const Descriptor *d, uint32_t formats) {
        if (d->device != DEVICE_FLASH)
                return true;
        if (!(formats & (1U << d->executable.format)))
                return false;
        return d->mode != FLASH_MODE_SPLIT || (formats & (1U << d->nvram_template.format));
}

/* Appends "name:detail" for each of names, and once the list is full only counts them, in O(1) for the rest
 * (a thousand unknown features would otherwise cost a thousand allocations for each descriptor). */
static int reject_names(char ***reasons, const char *name, const char * const *names, size_t n) {
        size_t i = 0;
        int r;

        for (; i < n && strv_length(*reasons) < RESOLVER_REASONS_MAX; i++) {
                r = reason(reasons, name, names[i]);
                if (r < 0)
                        return r;
        }
        if (i < n) {
                size_t k = strv_length(*reasons);
                char *more = strdup_printf("%zu" MORE_SUFFIX, reasons_left_out(*reasons, k) + (n - i));

                if (!more)
                        return -ENOMEM;
                free((*reasons)[k - 1]);
                (*reasons)[k - 1] = more;
        }
        return 0;
}

/* Unknown features: what a request names but this build does not know, set against the few names of a
 * descriptor. A descriptor's names are looked up in the request's sorted lists, never the other way round:
 * the cost follows the descriptor, not the thousand names a caller may send. */
static int match_unknown_features(const Descriptor *d, const MatchContext *ctx, char ***reasons) {
        size_t n_unknown = strv_length(d->features) - (size_t) __builtin_popcountll(d->feature_mask);
        size_t present = 0;
        int r;

        if (n_unknown > 0 && ctx->n_required + ctx->n_forbidden > 0)
                STRV_FOREACH(f, d->features)
                        present += sorted_contains(ctx->required, ctx->n_required, *f);
        if (present < ctx->n_required) {
                if (!reasons)
                        return 0;
                if (present == 0)       /* every one is missing: no lookup at all */
                        r = reject_names(reasons, "feature-missing", ctx->required, ctx->n_required);
                else {
                        const char *missing[RESOLVER_REASONS_MAX];
                        size_t n = 0;

                        for (size_t i = 0; i < ctx->n_required && n < RESOLVER_REASONS_MAX; i++)
                                if (!strv_contains(d->features, ctx->required[i]))
                                        missing[n++] = ctx->required[i];
                        r = reject_names(reasons, "feature-missing", missing, n);
                        if (r >= 0 && n == RESOLVER_REASONS_MAX)        /* the rest, counted */
                                r = reject_names(reasons, "feature-missing", ctx->required,
                                                 ctx->n_required - present - n);
                }
                if (r < 0)
                        return r;
        }
        if (n_unknown == 0 || ctx->n_forbidden == 0)
                return 1;
        STRV_FOREACH(f, d->features)
                if (sorted_contains(ctx->forbidden, ctx->n_forbidden, *f))
                        REJECT("feature-forbidden", *f);
        return 1;
}

static int match_features(const Descriptor *d, const Request *req, const MatchContext *ctx, char ***reasons) {
        uint64_t missing = req->features_required & ~d->feature_mask;
        uint64_t forbidden = req->features_forbidden & d->feature_mask;

        for (int f = 0; f < _FEATURE_MAX && (missing | forbidden); f++) {
                if (missing & (UINT64_C(1) << f))
                        REJECT("feature-missing", feature_to_string(f));
                if (forbidden & (UINT64_C(1) << f))
                        REJECT("feature-forbidden", feature_to_string(f));
        }
        return match_unknown_features(d, ctx, reasons);
}

int match_entry(const Entry *e, const Request *req, RequestKind kind, const MatchContext *ctx,
                       char ***reasons) {
        const Descriptor *d = e->descriptor;
        bool resolve = kind == REQUEST_RESOLVE;
        InterfaceType interface = req->has_interface ? req->interface : INTERFACE_UEFI;
        int r;

        if ((req->has_interface || resolve) && !(d->interface_mask & (1U << interface)))
                REJECT("interface", NULL);
        if (req->has_architecture && !(d->architecture_mask & ARCH_BIT(req->architecture)))
                REJECT("architecture", NULL);
        if (req->has_device ? d->device != req->device
                            : resolve && d->device != DEVICE_FLASH && d->device != DEVICE_MEMORY)
                REJECT("device", NULL);
        if (req->has_mode && d->device == DEVICE_FLASH && d->mode != req->mode)
                REJECT("mode", NULL);
        if (req->has_formats && !format_ok(d, req->formats))
                REJECT("format", NULL);
        if (req->has_smm && !req->smm && descriptor_has_feature(d, FEATURE_REQUIRES_SMM))
                REJECT("requires-smm", NULL);
        r = match_features(d, req, ctx, reasons);
        if (r <= 0)
                return r;
        if (strv_contains(req->exclude, e->name))
                REJECT("excluded", NULL);
        if ((req->executable && !path_key_matches(&ctx->executable, descriptor_image(d), &e->image)) ||
            (req->nvram_template &&
             !path_key_matches(&ctx->nvram_template, descriptor_vars_template(d), &e->vars)))
                REJECT("path", NULL);
        if (req->has_nvram && !nvram_fits(e, &req->nvram))
                REJECT("nvram-layout", NULL);
        /* no template holds nothing: each id is missing */
        STRV_FOREACH(id, req->certificates)
                if (!image_facts_has_certificate(e->vars.facts, *id))
                        REJECT("certificate-missing", *id);
        /* a machine is only judged among targets of the right architecture: no double reason */
        if (req->has_architecture && req->machine) {
                if ((d->architecture_mask & ARCH_BIT(req->architecture)) &&
                    !machine_matches(d, req->architecture, req->machine, ctx))
                        REJECT("machine", NULL);
        } else if (req->machine) {
                bool any = false;
                for (int a = 0; a < _ARCH_MAX && !any; a++)
                        any = machine_matches(d, a, req->machine, ctx);
                if (!any)
                        REJECT("machine", NULL);
        }
        if (req->has_check_files ? req->check_files : resolve) {
                if (!e->image.ok)
                        REJECT("executable-missing", descriptor_image(d));
                if (!e->vars.ok)
                        REJECT("nvram-template-missing", descriptor_vars_template(d));
        }
        return reasons ? strv_length(*reasons) == 0 : 1;
}

int resolver_match(const Catalogue *c, const Entry *e, const Request *req, RequestKind kind, char ***reasons) {
        _cleanup_(match_context_done) MatchContext ctx = {};
        int r;

        if (e->state != ENTRY_VALID)
                return 0;
        r = match_context_init(c, req, &ctx);
        if (r < 0)
                return r;
        return match_entry(e, req, kind, &ctx, reasons);
}

/* A feature no valid descriptor has cannot be required: answer without walking the index. */
static bool requires_absent_feature(const Catalogue *c, const Request *req) {
        if (req->features_required & ~c->feature_mask)
                return true;
        STRV_FOREACH(f, req->unknown_required)
                /* no features at all: c->features is NULL, which bsearch() must not be given */
                if (!c->features || !bsearch(f, c->features, strv_length(c->features), sizeof(char *),
                                             string_ptr_compare))
                        return true;
        return false;
}

/* Where a walk in rank order finds its candidates: every entry, the per-architecture lists of the interface
 * types in question, or the machine buckets of those lists. Cursors over rank-sorted lists are merged, so
 * the walk meets candidates in rank order, each once, and never one that cannot match the machine type. */
#define CURSORS_MAX 64

typedef struct Cursor {
        const uint32_t *ranks;
        size_t n, i;
} Cursor;

typedef struct Candidates {
        Cursor cursors[CURSORS_MAX];
        size_t n_cursors;
        bool everything;                /* no index applies: every entry of the catalogue */
        size_t next;                    /* with everything */
} Candidates;

static int candidates_add(Candidates *w, const uint32_t *ranks, size_t n) {
        if (n == 0)
                return 0;
        if (w->n_cursors >= CURSORS_MAX)
                return -E2BIG;
        w->cursors[w->n_cursors++] = (Cursor) { .ranks = ranks, .n = n };
        return 0;
}

/* The buckets for one machine name, or the whole list when there is no machine. */
static int candidates_add_list(Candidates *w, const Catalogue *c, Architecture a, InterfaceType t,
                               const char *machine) {
        const MachineBucket *buckets[CURSORS_MAX];
        int n;

        if (!machine)
                return candidates_add(w, c->index[a][t], c->n_index[a][t]);
        n = catalogue_machine_buckets(c, a, t, machine, buckets, CURSORS_MAX);
        for (int i = 0; i < n; i++) {
                int r = candidates_add(w, buckets[i]->ranks, buckets[i]->n);
                if (r < 0)
                        return r;
        }
        return n < 0 ? n : 0;
}

/* The machine as named and, for an alias, what the installed QEMU (or the built-in table) says it stands for:
 * the two names machine_matches() tries. */
static int candidates_add_interface(Candidates *w, const Catalogue *c, const Request *req,
                                    const MatchContext *ctx, InterfaceType t) {
        const char *versioned = req->machine ? ctx->expanded[req->architecture] : NULL;
        int r;

        r = candidates_add_list(w, c, req->architecture, t, req->machine);
        if (r >= 0 && versioned)
                r = candidates_add_list(w, c, req->architecture, t, versioned);
        return r;
}

/* Only valid entries of the requested architecture can match a request that names one; List's include-*
 * keys want entries no index holds. */
static void candidates_init(Candidates *w, const Catalogue *c, const Request *req, const MatchContext *ctx,
                            RequestKind kind) {
        bool any_interface = kind == REQUEST_FILTER && !req->has_interface;
        int r = 0;

        /* not the whole struct: the cursors are written as they are added */
        w->n_cursors = 0;
        w->everything = false;
        w->next = 0;
        if (!req->has_architecture || req->include_invalid || req->include_masked || req->include_shadowed) {
                w->everything = true;
                return;
        }
        for (int t = 0; t < _INTERFACE_MAX && r >= 0; t++)
                if (any_interface || t == (req->has_interface ? req->interface : INTERFACE_UEFI))
                        r = candidates_add_interface(w, c, req, ctx, t);
        if (r < 0) {
                w->n_cursors = 0;
                w->everything = true;
        }
}

/* The next candidate in rank order, or NULL. */
static const Entry *candidates_next(Candidates *w, const Catalogue *c) {
        uint32_t best = UINT32_MAX;

        if (w->everything)
                return w->next < c->n_entries ? &c->entries[w->next++] : NULL;
        for (size_t i = 0; i < w->n_cursors; i++) {
                const Cursor *k = &w->cursors[i];
                if (k->i < k->n && k->ranks[k->i] < best)
                        best = k->ranks[k->i];
        }
        if (best == UINT32_MAX)
                return NULL;
        for (size_t i = 0; i < w->n_cursors; i++) {
                Cursor *k = &w->cursors[i];
                if (k->i < k->n && k->ranks[k->i] == best)
                        k->i++;
        }
        return &c->entries[best];
}

int resolver_resolve(const Catalogue *c, const Request *req, const Entry **ret) {
        _cleanup_(match_context_done) MatchContext ctx = {};
        Candidates w;
        int r;

        if (!req->has_architecture)
                return -EINVAL;
        if (requires_absent_feature(c, req))
                return 0;

        r = match_context_init(c, req, &ctx);
        if (r < 0)
                return r;
        candidates_init(&w, c, req, &ctx, REQUEST_RESOLVE);
        for (const Entry *e; (e = candidates_next(&w, c));)
                if (e->state == ENTRY_VALID && match_entry(e, req, REQUEST_RESOLVE, &ctx, NULL) > 0) {
                        *ret = e;
                        return 1;
                }
        return 0;
}

static bool filter_includes(const Entry *e, const Request *req, const MatchContext *ctx) {
        switch (e->state) {
        case ENTRY_MASKED:
                return req->include_masked;
        case ENTRY_INVALID:
                return req->include_invalid;
        default:
                return e->state == ENTRY_VALID && match_entry(e, req, REQUEST_FILTER, ctx, NULL) > 0;
        }
}

int resolver_filter(const Catalogue *c, const Request *req, ResolverFilterFunc f, void *userdata) {
        _cleanup_(match_context_done) MatchContext ctx = {};
        Candidates w;
        int r;

        if (requires_absent_feature(c, req) && !req->include_invalid && !req->include_masked &&
            !req->include_shadowed)
                return 0;
        r = match_context_init(c, req, &ctx);
        if (r < 0)
                return r;
        candidates_init(&w, c, req, &ctx, REQUEST_FILTER);
        for (const Entry *e; (e = candidates_next(&w, c));) {
                r = f(e, filter_includes(e, req, &ctx), userdata);
                if (r != 0)     /* an error, or a full page: the walk ends */
                        return r < 0 ? r : 0;
        }
        return 0;
}
