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

/* One walk over the catalogue: each verdict goes to the caller as soon as it is made, and is freed after. */
typedef struct ExplainWalk {
        const Request *req;
        MatchContext ctx;
        const Entry *selected;
        ResolverVerdictFunc f;
        void *userdata;
} ExplainWalk;

/* Hands a verdict to the caller, which may take its reasons; frees what it leaves. Returns what f
 * returned. */
static int walk_emit(ExplainWalk *w, const Entry *e, VerdictKind kind, char **reasons) {
        Verdict v = { .entry = e, .kind = kind, .reasons = reasons };
        int r;

        r = w->f(&v, w->userdata);
        strv_free(v.reasons);
        return r;
}

static int invalid_reasons(const Entry *e, char ***reasons) {
        for (size_t i = 0; i < e->descriptor->n_problems; i++) {
                const Problem *p = &e->descriptor->problems[i];
                _cleanup_(freep) char *s = NULL;
                int r;

                if (p->severity != PROBLEM_ERROR)
                        continue;
                s = problem_to_string(p);
                r = strv_consume(reasons, s ? strdup_printf("parse-error:%s", s) : NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int entry_verdict(ExplainWalk *w, const Entry *e) {
        _cleanup_(strv_freep) char **reasons = NULL;
        int r, k;

        switch (e->state) {
        case ENTRY_MASKED:
                r = strv_consume(&reasons, strdup_printf("masked-by:%s", e->path));
                if (r < 0)
                        return r;
                return walk_emit(w, e, VERDICT_MASKED, TAKE_PTR(reasons));

        case ENTRY_INVALID:
                r = invalid_reasons(e, &reasons);
                if (r < 0)
                        return r;
                return walk_emit(w, e, VERDICT_INVALID, TAKE_PTR(reasons));

        default:
                reasons = calloc(1, sizeof(char *));
                if (!reasons)
                        return -ENOMEM;
                r = match_entry(e, w->req, REQUEST_RESOLVE, &w->ctx, &reasons);
                if (r < 0)
                        return r;
                k = add_alias_note(e, w->req, &w->ctx, &reasons);
                if (k < 0)
                        return k;
                if (r == 0)
                        return walk_emit(w, e, VERDICT_REJECTED, TAKE_PTR(reasons));
                if (w->selected)
                        return walk_emit(w, e, VERDICT_ELIGIBLE, TAKE_PTR(reasons));
                w->selected = e;
                return walk_emit(w, e, VERDICT_SELECTED, TAKE_PTR(reasons));
        }
}

/* A file behind e: shadowed by it, or masked when e is a mask. */
static int hidden_verdict(ExplainWalk *w, const Entry *e) {
        bool masked = e->state == ENTRY_MASKED;
        char **reasons = NULL;
        int r;

        r = strv_consume(&reasons, strdup_printf("%s:%s", masked ? "masked-by" : "shadowed-by", e->path));
        if (r < 0)
                return r;
        return walk_emit(w, e, masked ? VERDICT_MASKED : VERDICT_SHADOWED, reasons);
}

int resolver_explain_foreach(const Catalogue *c, const Request *req, ResolverVerdictFunc f, void *userdata) {
        ExplainWalk w = { .req = req, .f = f, .userdata = userdata };
        int r = 0;

        if (!req->has_architecture)
                return -EINVAL;

        r = match_context_init(c, req, &w.ctx);
        for (size_t i = 0; i < c->n_entries && r >= 0; i++) {
                const Entry *e = &c->entries[i];

                /* a mask is not a descriptor: what it hides gets the verdict, or the mask when it hides
                 * nothing */
                if (e->state != ENTRY_MASKED || !e->shadowed)
                        r = entry_verdict(&w, e);
                for (size_t k = 0; r >= 0 && e->shadowed && e->shadowed[k]; k++)
                        r = hidden_verdict(&w, e);
        }
        match_context_done(&w.ctx);
        return r < 0 ? r : 0;
}

/* How many verdicts the walk makes. */
static size_t explain_count(const Catalogue *c) {
        size_t n = 0;

        for (size_t i = 0; i < c->n_entries; i++) {
                const Entry *e = &c->entries[i];
                n += (e->state != ENTRY_MASKED || !e->shadowed) + strv_length(e->shadowed);
        }
        return n;
}

static int explanation_collect(Verdict *v, void *userdata) {
        Explanation *x = userdata;
        size_t n = x->n_verdicts;

        /* the array grows to the next power of two: room is made when n is one */
        if ((n & (n - 1)) == 0) {
                Verdict *a = reallocarray(x->verdicts, n ? 2 * n : 1, sizeof(Verdict));
                if (!a)
                        return -ENOMEM;
                x->verdicts = a;
        }
        x->verdicts[x->n_verdicts++] = (Verdict) { .entry = v->entry, .kind = v->kind,
                                                    .reasons = TAKE_PTR(v->reasons) };
        if (v->kind == VERDICT_SELECTED)
                x->selected = v->entry;
        return 0;
}

int resolver_explain(const Catalogue *c, const Request *req, Explanation *ret) {
        Explanation x = {};
        int r;

        r = resolver_explain_foreach(c, req, explanation_collect, &x);
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

/* Reason tallies for the summary. */
typedef struct Tally {
        char *reason;
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

#define LAYOUT_GROUPS_MAX 4U
#define LAYOUT_NAMES_MAX 3U

/* What the NoMatch message says, gathered one verdict at a time: counts, tallies, the closest candidate and
 * the template layouts. It keeps copies of what it needs, never the verdicts. */
typedef struct Summary {
        const Request *req;
        size_t n_verdicts, counts[_VERDICT_MAX];
        size_t n_rejected, n_other;             /* of the requested architecture, of others */

        Tally *tallies;                         /* in order of first appearance */
        size_t n_tallies, tallies_max;          /* at most four a verdict of the whole walk */
        size_t *slots, n_slots;                 /* a hash table of tallies: index + 1, 0 when free */

        /* the rejected candidate of the requested architecture that came closest: not excluded by the caller
         * first, then fewest reasons, then rank */
        const Entry *closest;
        char **closest_reasons;
        size_t closest_score;

        /* with nvram: the layouts of the templates that did not fit, each with the first few descriptors */
        char *layouts[LAYOUT_GROUPS_MAX];
        size_t layout_counts[LAYOUT_GROUPS_MAX], n_groups, n_other_layouts;
        const Entry *first[LAYOUT_GROUPS_MAX][LAYOUT_NAMES_MAX];
} Summary;

static void summary_done(Summary *s) {
        for (size_t i = 0; i < s->n_tallies; i++)
                free(s->tallies[i].reason);
        free(s->tallies);
        free(s->slots);
        strv_free(s->closest_reasons);
        for (size_t g = 0; g < s->n_groups; g++)
                free(s->layouts[g]);
        *s = (Summary) {};
}

static int summary_grow(Summary *s) {
        size_t n = s->n_slots ? s->n_slots * 2 : 16;
        _cleanup_(freep) size_t *slots = calloc(n, sizeof(size_t));
        Tally *t = reallocarray(s->tallies, n / 2, sizeof(Tally));

        if (!t)
                return -ENOMEM;
        s->tallies = t;
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_tallies; i++) {
                size_t h = string_hash(t[i].reason) & (n - 1);
                while (slots[h])
                        h = (h + 1) & (n - 1);
                slots[h] = i + 1;
        }
        free(s->slots);
        s->slots = TAKE_PTR(slots);
        s->n_slots = n;
        return 0;
}

/* Counts one reason: linear in the number of reasons, through the hash table. */
static int summary_tally(Summary *s, const char *reason) {
        size_t h;
        int r;

        if (s->n_tallies + 1 > s->n_slots / 2) {
                r = summary_grow(s);
                if (r < 0)
                        return r;
        }
        h = string_hash(reason) & (s->n_slots - 1);
        while (s->slots[h] && !streq(s->tallies[s->slots[h] - 1].reason, reason))
                h = (h + 1) & (s->n_slots - 1);
        if (!s->slots[h]) {
                if (s->n_tallies >= s->tallies_max)
                        return 0;
                s->tallies[s->n_tallies] = (Tally) { .reason = strdup(reason) };
                if (!s->tallies[s->n_tallies].reason)
                        return -ENOMEM;
                s->slots[h] = ++s->n_tallies;
        }
        s->tallies[s->slots[h] - 1].count++;
        return 0;
}

static int summary_closest(Summary *s, const Verdict *v) {
        size_t score = verdict_n_causes(v) + (strv_contains(v->reasons, "excluded") ? 100 : 0);
        char **copy;

        if (s->closest && score >= s->closest_score)
                return 0;
        copy = strv_copy(v->reasons);
        if (!copy)
                return -ENOMEM;
        strv_free(s->closest_reasons);
        s->closest_reasons = copy;
        s->closest = v->entry;
        s->closest_score = score;
        return 0;
}

static int summary_layout(Summary *s, const Verdict *v) {
        const ImageFacts *f = v->entry->vars.facts;
        _cleanup_(freep) char *layout = NULL;
        size_t g = 0;

        if (!strv_contains(v->reasons, "nvram-layout"))
                return 0;
        layout = f ? varstore_to_string(&f->varstore) : strdup("no nvram template");
        if (!layout)
                return -ENOMEM;
        while (g < s->n_groups && !streq(s->layouts[g], layout))
                g++;
        if (g == s->n_groups) {
                if (s->n_groups >= LAYOUT_GROUPS_MAX) {
                        s->n_other_layouts++;
                        return 0;
                }
                s->layouts[s->n_groups++] = TAKE_PTR(layout);
        }
        if (s->layout_counts[g] < LAYOUT_NAMES_MAX)
                s->first[g][s->layout_counts[g]] = v->entry;
        s->layout_counts[g]++;
        return 0;
}

static int summary_add(Summary *s, const Verdict *v) {
        size_t n = strv_length(v->reasons), kept = n - (reasons_left_out(v->reasons, n) > 0);
        int r;

        s->n_verdicts++;
        s->counts[v->kind]++;
        if (v->kind != VERDICT_REJECTED)
                return 0;
        if (verdict_other_architecture(v)) {
                s->n_other++;
                return 0;
        }
        s->n_rejected++;
        for (size_t k = 0; k < kept; k++)
                if (!reason_is_note(v->reasons[k])) {
                        r = summary_tally(s, v->reasons[k]);
                        if (r < 0)
                                return r;
                }
        r = summary_closest(s, v);
        if (r >= 0 && s->req->has_nvram)
                r = summary_layout(s, v);
        return r;
}

static int summary_verdict(Verdict *v, void *userdata) {
        return summary_add(userdata, v);
}

static void summary_put_layouts(const Summary *s, StrBuf *b) {
        if (s->n_groups == 0)
                return;
        strbuf_puts(b, "; templates of the candidates:");
        for (size_t g = 0; g < s->n_groups; g++) {
                strbuf_printf(b, "%s %s (", g == 0 ? "" : ";", s->layouts[g]);
                for (size_t k = 0; k < s->layout_counts[g] && k < LAYOUT_NAMES_MAX; k++)
                        strbuf_printf(b, "%s%s", k == 0 ? "" : ", ", s->first[g][k]->name);
                if (s->layout_counts[g] > LAYOUT_NAMES_MAX)
                        strbuf_printf(b, " and %zu more", s->layout_counts[g] - LAYOUT_NAMES_MAX);
                strbuf_puts(b, ")");
        }
        if (s->n_other_layouts > 0)
                strbuf_printf(b, "; %zu more with other layouts", s->n_other_layouts);
}

static void summary_put_closest(const Summary *s, StrBuf *b) {
        const Request *req = s->req;
        bool first = true;

        if (!s->closest) {
                if (req->has_architecture && s->n_rejected == 0)
                        strbuf_printf(b, "; no descriptor is for %s",
                                      architecture_to_string(req->architecture));
                return;
        }
        strbuf_printf(b, "; closest: %s (", s->closest->name);
        STRV_FOREACH(p, s->closest_reasons)
                if (!reason_is_note(*p)) {
                        strbuf_printf(b, "%s%s", first ? "" : ", ", *p);
                        first = false;
                }
        strbuf_puts(b, ")");
}

static void summary_put_counts(Summary *s, StrBuf *b) {
        if (s->n_tallies > 0)   /* none: tallies is NULL, which qsort() may not be given */
                qsort(s->tallies, s->n_tallies, sizeof(Tally), tally_compare);
        strbuf_printf(b, ": %zu rejected", s->n_rejected);
        for (size_t i = 0; i < s->n_tallies && i < 8; i++)
                strbuf_printf(b, "%s%zu %s", i == 0 ? " (" : ", ", s->tallies[i].count, s->tallies[i].reason);
        if (s->n_tallies > 0)
                strbuf_puts(b, s->n_tallies > 8 ? ", ...)" : ")");
        strbuf_printf(b, ", %zu invalid, %zu masked, %zu shadowed", s->counts[VERDICT_INVALID],
                      s->counts[VERDICT_MASKED], s->counts[VERDICT_SHADOWED]);
        if (s->n_other > 0)
                strbuf_printf(b, ", %zu for other architectures", s->n_other);
}

/* The message, once every verdict was added. Returns 0 or -ENOMEM. */
static int summary_finish(Summary *s, char **ret) {
        _cleanup_(freep) char *what = request_to_string(s->req, REQUEST_RESOLVE);
        const Request *req = s->req;
        StrBuf b = {};
        char *text;

        if (!what)
                return -ENOMEM;
        strbuf_printf(&b, "No firmware matches %s", what);
        if (s->n_verdicts == 0)
                strbuf_puts(&b, ": the catalogue is empty");
        else {
                summary_put_counts(s, &b);
                summary_put_closest(s, &b);
                if (req->machine && req->has_architecture) {
                        const char *v = machine_alias_lookup(req->machines, req->machine, req->architecture);
                        if (v)
                                strbuf_printf(&b, "; machine '%s' is an alias of '%s'", req->machine, v);
                }
                if (req->has_nvram)
                        summary_put_layouts(s, &b);
        }
        text = strbuf_steal(&b);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

char *explanation_summary(const Explanation *x, const Request *req) {
        _cleanup_(summary_done) Summary s = { .req = req, .tallies_max = x->n_verdicts * 4 };
        char *text;

        for (size_t i = 0; i < x->n_verdicts; i++)
                if (summary_add(&s, &x->verdicts[i]) < 0)
                        return NULL;
        return summary_finish(&s, &text) < 0 ? NULL : text;
}

int resolver_summarize(const Catalogue *c, const Request *req, char **ret) {
        _cleanup_(summary_done) Summary s = { .req = req, .tallies_max = explain_count(c) * 4 };
        int r;

        r = resolver_explain_foreach(c, req, summary_verdict, &s);
        if (r < 0)
                return r;
        return summary_finish(&s, ret);
}
