/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Explain: a verdict with reasons for every file of the catalogue, and the NoMatch summary made from them
 * (counts per reason, the closest candidate, the template layouts that would have fitted). */

#include "resolver-internal.h"

const char *verdict_kind_to_string(VerdictKind k) {
        static const char *const table[_VERDICT_MAX] = {
                [VERDICT_SELECTED] = "selected",
                [VERDICT_ELIGIBLE] = "eligible",
                [VERDICT_REJECTED] = "rejected",
                [VERDICT_MASKED] = "masked",
                [VERDICT_SHADOWED] = "shadowed",
                [VERDICT_INVALID] = "invalid",
        };
        return k < _VERDICT_MAX ? table[k] : NULL;
}

size_t verdict_reasons_total(const Verdict *v) {
        size_t n = strv_length(v->reasons), more = reasons_left_out(v->reasons, n);
        return more > 0 ? n - 1 + more : n;
}

static int explanation_add(Explanation *x, const Entry *e, VerdictKind kind, char **reasons) {
        Verdict *n = realloc(x->verdicts, sizeof(Verdict) * (x->n_verdicts + 1));

        if (!n) {
                strv_free(reasons);
                return -ENOMEM;
        }
        x->verdicts = n;
        x->verdicts[x->n_verdicts++] = (Verdict) { .entry = e, .kind = kind, .reasons = reasons };
        return 0;
}

/* When the request names an alias, every verdict that judged a machine says what the alias stood for: a
 * note, never a cause of rejection. */
#define ALIAS_NOTE "machine-alias:"

static bool reason_is_note(const char *reason) {
        return strncmp(reason, ALIAS_NOTE, strlen(ALIAS_NOTE)) == 0;
}

static int add_alias_note(const Entry *e, const Request *req, const MatchContext *ctx, char ***reasons) {
        const char *versioned = req->machine ? ctx->expanded[req->architecture] : NULL;

        if (!versioned || !(e->descriptor->architecture_mask & ARCH_BIT(req->architecture)))
                return 0;
        return strv_consume(reasons, strdup_printf(ALIAS_NOTE "%s=%s", req->machine, versioned));
}

static int entry_verdict(const Entry *e, const Request *req, const MatchContext *ctx, Explanation *x) {
        _cleanup_(strv_freep) char **reasons = NULL;
        int r, k;

        switch (e->state) {
        case ENTRY_MASKED:
                r = strv_consume(&reasons, strdup_printf("masked-by:%s", e->path));
                if (r < 0)
                        return r;
                return explanation_add(x, e, VERDICT_MASKED, TAKE_PTR(reasons));

        case ENTRY_INVALID:
                for (size_t i = 0; i < e->descriptor->n_problems; i++) {
                        const Problem *p = &e->descriptor->problems[i];
                        _cleanup_(freep) char *s = NULL;

                        if (p->severity != PROBLEM_ERROR)
                                continue;
                        s = problem_to_string(p);
                        r = strv_consume(&reasons, s ? strdup_printf("parse-error:%s", s) : NULL);
                        if (r < 0)
                                return r;
                }
                return explanation_add(x, e, VERDICT_INVALID, TAKE_PTR(reasons));

        default:
                reasons = calloc(1, sizeof(char *));
                if (!reasons)
                        return -ENOMEM;
                r = match_entry(e, req, REQUEST_RESOLVE, ctx, &reasons);
                if (r < 0)
                        return r;
                k = add_alias_note(e, req, ctx, &reasons);
                if (k < 0)
                        return k;
                if (r == 0)
                        return explanation_add(x, e, VERDICT_REJECTED, TAKE_PTR(reasons));
                r = explanation_add(x, e, x->selected ? VERDICT_ELIGIBLE : VERDICT_SELECTED, TAKE_PTR(reasons));
                if (r >= 0 && !x->selected)
                        x->selected = e;
                return r;
        }
}

int resolver_explain(const Catalogue *c, const Request *req, Explanation *ret) {
        Explanation x = {};
        MatchContext ctx;
        int r = 0;

        if (!req->has_architecture)
                return -EINVAL;

        match_context_init(c, req, &ctx);
        for (size_t i = 0; i < c->n_entries && r >= 0; i++) {
                const Entry *e = &c->entries[i];

                /* a mask is not a descriptor: what it hides gets the verdict, or the mask when it hides nothing */
                if (e->state != ENTRY_MASKED || !e->shadowed)
                        r = entry_verdict(e, req, &ctx, &x);
                STRV_FOREACH(s, e->shadowed) {
                        char **reasons = NULL;

                        if (r < 0)
                                break;
                        r = strv_consume(&reasons, strdup_printf("%s:%s",
                                         e->state == ENTRY_MASKED ? "masked-by" : "shadowed-by", e->path));
                        if (r >= 0)
                                r = explanation_add(&x, e, e->state == ENTRY_MASKED ? VERDICT_MASKED
                                                                                     : VERDICT_SHADOWED, reasons);
                }
        }
        if (r < 0) {
                explanation_done(&x);
                return r;
        }
        *ret = x;
        return 0;
}

void explanation_done(Explanation *x) {
        for (size_t i = 0; i < x->n_verdicts; i++)
                strv_free(x->verdicts[i].reasons);
        free(x->verdicts);
        *x = (Explanation) {};
}

/* Reason tallies for the summary, in order of first appearance. */
typedef struct Tally {
        const char *reason;
        size_t count;
} Tally;

static int tally_compare(const void *a, const void *b) {
        const Tally *x = a, *y = b;
        return x->count < y->count ? 1 : x->count > y->count ? -1 : strcmp(x->reason, y->reason);
}

/* Whether a verdict is about a candidate of the requested architecture: the others are only counted. */
static bool verdict_other_architecture(const Verdict *v) {
        return v->kind == VERDICT_REJECTED && strv_contains(v->reasons, "architecture");
}

static size_t verdict_n_causes(const Verdict *v) {
        size_t n = 0;

        STRV_FOREACH(s, v->reasons)
                n += !reason_is_note(*s);
        return n;
}

/* The rejected candidate of the requested architecture that came closest: not excluded by the caller
 * first, then fewest reasons, then rank. NULL when there is none. */
static const Verdict *closest_candidate(const Explanation *x, size_t *ret_rejected, size_t *ret_other) {
        const Verdict *best = NULL;
        size_t best_score = SIZE_MAX, n = 0, other = 0;

        for (size_t i = 0; i < x->n_verdicts; i++) {
                const Verdict *v = &x->verdicts[i];
                size_t score;

                if (v->kind != VERDICT_REJECTED)
                        continue;
                if (verdict_other_architecture(v)) {
                        other++;
                        continue;
                }
                n++;
                score = verdict_n_causes(v) + (strv_contains(v->reasons, "excluded") ? 100 : 0);
                if (score < best_score) {
                        best = v;
                        best_score = score;
                }
        }
        *ret_rejected = n;
        *ret_other = other;
        return best;
}

#define LAYOUT_GROUPS_MAX 4U
#define LAYOUT_NAMES_MAX 3U

/* For a request with nvram: the layouts of the templates that were refused for not fitting it, each with the
 * first few descriptors that have it, so that the message says what would have fitted. */
static void summarize_layouts(StrBuf *b, const Explanation *x) {
        char *layouts[LAYOUT_GROUPS_MAX] = {};
        size_t counts[LAYOUT_GROUPS_MAX] = {}, n_groups = 0, n_other = 0;
        const Verdict *first[LAYOUT_GROUPS_MAX][LAYOUT_NAMES_MAX] = {};

        for (size_t i = 0; i < x->n_verdicts; i++) {
                const Verdict *v = &x->verdicts[i];
                const ImageFacts *f = v->entry->vars.facts;
                _cleanup_(freep) char *layout = NULL;
                size_t g = 0;

                if (v->kind != VERDICT_REJECTED || !strv_contains(v->reasons, "nvram-layout") ||
                    strv_contains(v->reasons, "architecture"))
                        continue;
                layout = f ? varstore_to_string(&f->varstore) : strdup("no nvram template");
                if (!layout)
                        continue;
                while (g < n_groups && !streq(layouts[g], layout))
                        g++;
                if (g == n_groups) {
                        if (n_groups >= LAYOUT_GROUPS_MAX) {
                                n_other++;
                                continue;
                        }
                        layouts[n_groups++] = TAKE_PTR(layout);
                }
                if (counts[g] < LAYOUT_NAMES_MAX)
                        first[g][counts[g]] = v;
                counts[g]++;
        }
        if (n_groups == 0)
                return;
        strbuf_puts(b, "; templates of the candidates:");
        for (size_t g = 0; g < n_groups; g++) {
                strbuf_printf(b, "%s %s (", g == 0 ? "" : ";", layouts[g]);
                for (size_t k = 0; k < counts[g] && k < LAYOUT_NAMES_MAX; k++)
                        strbuf_printf(b, "%s%s", k == 0 ? "" : ", ", first[g][k]->entry->name);
                if (counts[g] > LAYOUT_NAMES_MAX)
                        strbuf_printf(b, " and %zu more", counts[g] - LAYOUT_NAMES_MAX);
                strbuf_puts(b, ")");
                free(layouts[g]);
        }
        if (n_other > 0)
                strbuf_printf(b, "; %zu more with other layouts", n_other);
}

char *explanation_summary(const Explanation *x, const Request *req) {
        _cleanup_(freep) char *what = request_to_string(req, REQUEST_RESOLVE);
        _cleanup_(freep) Tally *tallies = NULL;
        size_t n_tallies = 0, n_rejected, n_other, counts[_VERDICT_MAX] = {};
        const Verdict *closest;
        StrBuf b = {};

        if (!what)
                return NULL;
        tallies = calloc(x->n_verdicts * 4 + 1, sizeof(Tally));
        if (!tallies)
                return NULL;
        /* reasons to tallies through a hash table of indexes: linear in the number of reasons */
        size_t size = 16;
        while (size < (x->n_verdicts * 4 + 1) * 2)
                size <<= 1;
        _cleanup_(freep) size_t *slots = calloc(size, sizeof(size_t));
        if (!slots)
                return NULL;

        for (size_t i = 0; i < x->n_verdicts; i++) {
                const Verdict *v = &x->verdicts[i];
                size_t n = strv_length(v->reasons), kept = n - (reasons_left_out(v->reasons, n) > 0);

                counts[v->kind]++;
                if (v->kind != VERDICT_REJECTED || verdict_other_architecture(v))
                        continue;
                for (size_t k = 0; k < kept; k++) {
                        const char *s = v->reasons[k];
                        size_t h = string_hash(s) & (size - 1);

                        if (reason_is_note(s))
                                continue;
                        while (slots[h] && !streq(tallies[slots[h] - 1].reason, s))
                                h = (h + 1) & (size - 1);
                        if (!slots[h]) {
                                if (n_tallies >= x->n_verdicts * 4)
                                        continue;
                                tallies[n_tallies].reason = s;
                                slots[h] = ++n_tallies;
                        }
                        tallies[slots[h] - 1].count++;
                }
        }
        qsort(tallies, n_tallies, sizeof(Tally), tally_compare);

        strbuf_printf(&b, "No firmware matches %s", what);
        closest = closest_candidate(x, &n_rejected, &n_other);
        if (x->n_verdicts == 0) {
                strbuf_puts(&b, ": the catalogue is empty");
                return strbuf_steal(&b);
        }
        strbuf_printf(&b, ": %zu rejected", n_rejected);
        for (size_t i = 0; i < n_tallies && i < 8; i++)
                strbuf_printf(&b, "%s%zu %s", i == 0 ? " (" : ", ", tallies[i].count, tallies[i].reason);
        if (n_tallies > 0)
                strbuf_puts(&b, n_tallies > 8 ? ", ...)" : ")");
        strbuf_printf(&b, ", %zu invalid, %zu masked, %zu shadowed", counts[VERDICT_INVALID],
                      counts[VERDICT_MASKED], counts[VERDICT_SHADOWED]);
        if (n_other > 0)
                strbuf_printf(&b, ", %zu for other architectures", n_other);
        if (closest) {
                bool first = true;

                strbuf_printf(&b, "; closest: %s (", closest->entry->name);
                STRV_FOREACH(s, closest->reasons)
                        if (!reason_is_note(*s)) {
                                strbuf_printf(&b, "%s%s", first ? "" : ", ", *s);
                                first = false;
                        }
                strbuf_puts(&b, ")");
        } else if (req->has_architecture && n_rejected == 0)
                strbuf_printf(&b, "; no descriptor is for %s", architecture_to_string(req->architecture));
        if (req->machine && req->has_architecture) {
                const char *versioned = machine_alias_lookup(req->machines, req->machine, req->architecture);
                if (versioned)
                        strbuf_printf(&b, "; machine '%s' is an alias of '%s'", req->machine, versioned);
        }
        if (req->has_nvram)
                summarize_layouts(&b, x);
        return strbuf_steal(&b);
}
