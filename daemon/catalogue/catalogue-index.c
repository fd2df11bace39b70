/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What a catalogue computes from its entries once they are final: the per-architecture, per-interface lists
 * of valid entries, the machine-glob buckets over them, the architectures and the feature names. */

#include "catalogue.h"

static int build_arch_index(Catalogue *c) {
        for (int pass = 0; pass < 2; pass++) {
                for (size_t i = 0; i < c->n_entries; i++) {
                        const Entry *e = &c->entries[i];

                        if (e->state != ENTRY_VALID)
                                continue;
                        for (int a = 0; a < _ARCH_MAX; a++) {
                                if (!(e->descriptor->architecture_mask & (1U << a)))
                                        continue;
                                for (int t = 0; t < _INTERFACE_MAX; t++)
                                        if (e->descriptor->interface_mask & (1U << t)) {
                                                if (pass == 1)
                                                        c->index[a][t][c->n_index[a][t]] = e->rank;
                                                c->n_index[a][t]++;
                                        }
                        }
                }
                if (pass == 1)
                        break;
                for (int a = 0; a < _ARCH_MAX; a++)
                        for (int t = 0; t < _INTERFACE_MAX; t++) {
                                if (c->n_index[a][t] > 0) {
                                        c->index[a][t] = malloc(sizeof(uint32_t) * c->n_index[a][t]);
                                        if (!c->index[a][t])
                                                return -ENOMEM;
                                }
                                c->n_index[a][t] = 0;
                        }
        }
        return 0;
}

static int string_compare(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

static int catalogue_collect_features(Catalogue *c) {
        uint64_t known = 0;
        size_t n = 0;

        for (size_t i = 0; i < c->n_entries; i++) {
                const Descriptor *d = c->entries[i].descriptor;

                if (c->entries[i].state != ENTRY_VALID)
                        continue;
                c->architecture_mask |= d->architecture_mask;
                known |= d->feature_mask;
                if (strv_length(d->features) == (size_t) __builtin_popcountll(d->feature_mask))
                        continue;       /* no unknown names: the mask says it all */
                STRV_FOREACH(f, d->features)
                        if (feature_from_string(*f) < 0 && !strv_contains(c->features, *f)) {
                                if (strv_extend(&c->features, *f) < 0)
                                        return -ENOMEM;
                                n++;
                        }
        }
        c->feature_mask = known;
        for (int f = 0; f < _FEATURE_MAX; f++)
                if (known & (UINT64_C(1) << f)) {
                        if (strv_extend(&c->features, feature_to_string(f)) < 0)
                                return -ENOMEM;
                        n++;
                }
        if (n > 0)
                qsort(c->features, n, sizeof(char *), string_compare);
        return 0;
}

/* The literal text a glob begins with: fnmatch() without flags can only match strings that start with it. */
static uint32_t glob_literal_prefix(const char *glob) {
        return (uint32_t) strcspn(glob, "*?[\\");
}

static int prefix_compare(const char *a, uint32_t a_len, const char *b, uint32_t b_len) {
        int k = memcmp(a, b, a_len < b_len ? a_len : b_len);

        if (k != 0)
                return k;
        return a_len < b_len ? -1 : a_len > b_len;
}

static bool is_prefix(const MachineBucket *p, const char *s, size_t len) {
        return p->len <= len && memcmp(p->prefix, s, p->len) == 0;
}

/* Sorted, a prefix comes before everything it starts, and what lies between them starts with it too: so the
 * open prefixes form a stack, and each bucket's parent is the top of the stack when it comes. */
static void machine_index_link(MachineIndex *x) {
        for (size_t i = 0; i < x->n_buckets; i++) {
                MachineBucket *b = &x->buckets[i];
                int32_t p = i > 0 ? (int32_t) i - 1 : -1;

                while (p >= 0 && !is_prefix(&x->buckets[p], b->prefix, b->len))
                        p = x->buckets[p].parent;
                b->parent = p;
        }
}

/* Buckets are made in one pass over the list in rank order, each glob's prefix found in a hash table of the
 * distinct prefixes (a few, however many entries there are): every bucket's ranks come out in rank order,
 * and only the buckets are sorted, not every (prefix, rank) of the catalogue. */
typedef struct Grouping {
        MachineBucket *buckets;         /* in order of first appearance; n counts ranks, ranks unset */
        size_t n_buckets, allocated;
        uint32_t *slots;                /* bucket index + 1, 0 for none; a power of two, at most half full */
        size_t n_slots;
        uint32_t *keys;                 /* per (bucket, rank) pair kept, in rank order: its bucket */
        uint32_t *ranks;                /* and its rank */
        size_t n_keys, allocated_keys;
} Grouping;

static void grouping_done(Grouping *g) {
        free(g->buckets);
        free(g->slots);
        free(g->keys);
        free(g->ranks);
        *g = (Grouping) {};
}

static size_t prefix_hash(const char *p, uint32_t len) {
        size_t h = 5381;
        for (uint32_t i = 0; i < len; i++)
                h = h * 33 + (unsigned char) p[i];
        return h;
}

static uint32_t *grouping_slot(const Grouping *g, const char *p, uint32_t len) {
        size_t i = prefix_hash(p, len) & (g->n_slots - 1);

        for (; g->slots[i]; i = (i + 1) & (g->n_slots - 1)) {
                const MachineBucket *b = &g->buckets[g->slots[i] - 1];
                if (b->len == len && memcmp(b->prefix, p, len) == 0)
                        break;
        }
        return &g->slots[i];
}

static int grouping_grow(Grouping *g) {
        size_t n = g->n_slots ? g->n_slots * 2 : 64;
        uint32_t *slots = calloc(n, sizeof(uint32_t));
        MachineBucket *b;

        if (!slots)
                return -ENOMEM;
        free(g->slots);
        g->slots = slots;
        g->n_slots = n;
        for (size_t i = 0; i < g->n_buckets; i++)
                *grouping_slot(g, g->buckets[i].prefix, g->buckets[i].len) = (uint32_t) i + 1;
        b = reallocarray(g->buckets, n / 2, sizeof(MachineBucket));
        if (!b)
                return -ENOMEM;
        g->buckets = b;
        g->allocated = n / 2;
        return 0;
}

/* Puts rank into the bucket of the prefix p (len bytes), making the bucket if there is none yet. */
static int grouping_add(Grouping *g, const char *p, uint32_t len, uint32_t rank) {
        uint32_t *slot;

        if ((g->n_buckets + 1) * 2 > g->n_slots && grouping_grow(g) < 0)
                return -ENOMEM;
        slot = grouping_slot(g, p, len);
        if (!*slot) {
                g->buckets[g->n_buckets] = (MachineBucket) { .prefix = p, .len = len, .parent = -1,
                                                             .ranks = NULL };
                *slot = (uint32_t) ++g->n_buckets;
        } else if (g->buckets[*slot - 1].n > 0 && g->ranks[g->n_keys - 1] == rank) {
                /* two globs of one entry with the same prefix: its keys are the last ones added */
                for (size_t i = g->n_keys; i > 0 && g->ranks[i - 1] == rank; i--)
                        if (g->keys[i - 1] == *slot - 1)
                                return 0;
        }
        if (g->n_keys == g->allocated_keys) {
                size_t n = g->allocated_keys ? g->allocated_keys * 2 : 64;
                uint32_t *k = reallocarray(g->keys, n, sizeof(uint32_t)), *r;

                if (!k)
                        return -ENOMEM;
                g->keys = k;
                r = reallocarray(g->ranks, n, sizeof(uint32_t));
                if (!r)
                        return -ENOMEM;
                g->ranks = r;
                g->allocated_keys = n;
        }
        g->keys[g->n_keys] = *slot - 1;
        g->ranks[g->n_keys++] = rank;
        g->buckets[*slot - 1].n++;
        return 0;
}

/* Every glob prefix of the list's entries for architecture a, grouped. */
static int glob_group(const Catalogue *c, Architecture a, const uint32_t *list, size_t n, Grouping *g) {
        for (size_t i = 0; i < n; i++) {
                const Descriptor *d = c->entries[list[i]].descriptor;

                for (size_t j = 0; j < d->n_targets; j++) {
                        if (d->targets[j].architecture != a)
                                continue;
                        STRV_FOREACH(glob, d->targets[j].machines)
                                if (grouping_add(g, *glob, glob_literal_prefix(*glob), list[i]) < 0)
                                        return -ENOMEM;
                }
        }
        return 0;
}

static int bucket_compare(const void *a, const void *b) {
        const MachineBucket *x = a, *y = b;
        return prefix_compare(x->prefix, x->len, y->prefix, y->len);
}

static void machine_index_done(MachineIndex *x) {
        free(x->buckets);
        free(x->ranks);
        *x = (MachineIndex) {};
}

static int machine_index_build(const Catalogue *c, Architecture a, InterfaceType t, MachineIndex *ret) {
        _cleanup_(machine_index_done) MachineIndex x = {};
        _cleanup_(grouping_done) Grouping g = {};
        _cleanup_(freep) uint32_t *where = NULL;        /* bucket index as made -> as sorted */
        _cleanup_(freep) uint32_t *next = NULL;         /* by sorted bucket: where its next rank goes */
        size_t n_ranks = 0;
        int r;

        r = glob_group(c, a, c->index[a][t], c->n_index[a][t], &g);
        if (r < 0 || g.n_keys == 0)
                return r;
        x.ranks = calloc(g.n_keys, sizeof(uint32_t));
        x.buckets = calloc(g.n_buckets, sizeof(MachineBucket));
        where = calloc(g.n_buckets, sizeof(uint32_t));
        next = calloc(g.n_buckets, sizeof(uint32_t));
        if (!x.ranks || !x.buckets || !where || !next)
                return -ENOMEM;
        /* the bucket made i-th remembers it in parent until sorted */
        for (size_t i = 0; i < g.n_buckets; i++) {
                x.buckets[i] = g.buckets[i];
                x.buckets[i].parent = (int32_t) i;
        }
        qsort(x.buckets, g.n_buckets, sizeof(MachineBucket), bucket_compare);
        x.n_buckets = g.n_buckets;
        for (size_t i = 0; i < x.n_buckets; i++) {
                where[x.buckets[i].parent] = (uint32_t) i;
                x.buckets[i].ranks = &x.ranks[n_ranks];
                next[i] = (uint32_t) n_ranks;
                n_ranks += x.buckets[i].n;
        }
        for (size_t i = 0; i < g.n_keys; i++)
                x.ranks[next[where[g.keys[i]]]++] = g.ranks[i];
        machine_index_link(&x);
        *ret = x;
        x = (MachineIndex) {};
        return 0;
}

/* Index of the last bucket whose prefix sorts at or before s, or -1. */
static ssize_t machine_index_floor(const MachineIndex *x, const char *s, size_t len) {
        size_t lo = 0, hi = x->n_buckets;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (prefix_compare(x->buckets[mid].prefix, x->buckets[mid].len, s, (uint32_t) len) <= 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return (ssize_t) lo - 1;
}

int catalogue_machine_buckets(const Catalogue *c, Architecture a, InterfaceType t, const char *machine,
                              const MachineBucket **ret, size_t max) {
        const MachineIndex *x = &c->machines[a][t];
        size_t len = strlen(machine), n = 0;

        /* every bucket that starts machine sorts between itself and machine, so it starts the last bucket
         * at or before machine too: it is that bucket or one of its parents */
        for (ssize_t i = machine_index_floor(x, machine, len); i >= 0; i = x->buckets[i].parent) {
                if (!is_prefix(&x->buckets[i], machine, len))
                        continue;
                if (n >= max)
                        return -E2BIG;
                ret[n++] = &x->buckets[i];
        }
        return (int) n;
}

/* Whether c's indexes are previous's: the same valid descriptors at the same ranks (an update that only
 * looked at files again, or found them as they were: most steps of a full rescan). */
static bool index_unchanged(const Catalogue *c, const Catalogue *previous) {
        if (!previous || c->n_entries != previous->n_entries || c->n_valid != previous->n_valid)
                return false;
        for (size_t i = 0; i < c->n_entries; i++) {
                const Entry *a = &c->entries[i], *b = &previous->entries[i];

                if (a->state != b->state || (a->state == ENTRY_VALID && a->descriptor != b->descriptor))
                        return false;
        }
        return true;
}

static uint32_t *ranks_copy(const uint32_t *l, size_t n) {
        uint32_t *copy = malloc(sizeof(uint32_t) * n);
        return copy ? memcpy(copy, l, sizeof(uint32_t) * n) : NULL;
}

/* A copy of a machine index: its prefixes point into descriptors that both catalogues hold. */
static int machine_index_copy(const MachineIndex *x, MachineIndex *ret) {
        size_t n_ranks = 0;

        if (x->n_buckets == 0)
                return 0;
        for (size_t i = 0; i < x->n_buckets; i++)
                n_ranks += x->buckets[i].n;
        ret->ranks = ranks_copy(x->ranks, n_ranks);
        ret->buckets = malloc(sizeof(MachineBucket) * x->n_buckets);
        if (!ret->ranks || !ret->buckets)
                return -ENOMEM;
        ret->n_buckets = x->n_buckets;
        for (size_t i = 0; i < x->n_buckets; i++) {
                ret->buckets[i] = x->buckets[i];
                ret->buckets[i].ranks = ret->ranks + (x->buckets[i].ranks - x->ranks);
        }
        return 0;
}

/* previous's indexes and features, for a catalogue whose valid entries are previous's: a copy of arrays,
 * without looking at a single descriptor. */
static int catalogue_index_copy(Catalogue *c, const Catalogue *previous) {
        for (int a = 0; a < _ARCH_MAX; a++)
                for (int t = 0; t < _INTERFACE_MAX; t++) {
                        size_t n = previous->n_index[a][t];

                        if (n > 0 && !(c->index[a][t] = ranks_copy(previous->index[a][t], n)))
                                return -ENOMEM;
                        c->n_index[a][t] = n;
                        if (machine_index_copy(&previous->machines[a][t], &c->machines[a][t]) < 0)
                                return -ENOMEM;
                }
        c->architecture_mask = previous->architecture_mask;
        c->feature_mask = previous->feature_mask;
        if (previous->features && !(c->features = strv_copy(previous->features)))
                return -ENOMEM;
        return 0;
}

int catalogue_index(Catalogue *c, const Catalogue *previous) {
        int r;

        if (index_unchanged(c, previous))
                return catalogue_index_copy(c, previous);
        r = build_arch_index(c);
        if (r < 0)
                return r;
        for (int a = 0; a < _ARCH_MAX; a++)
                for (int t = 0; t < _INTERFACE_MAX; t++) {
                        r = machine_index_build(c, a, t, &c->machines[a][t]);
                        if (r < 0)
                                return r;
                }
        return catalogue_collect_features(c);
}

void catalogue_index_free(Catalogue *c) {
        for (int a = 0; a < _ARCH_MAX; a++)
                for (int t = 0; t < _INTERFACE_MAX; t++) {
                        free(c->index[a][t]);
                        machine_index_done(&c->machines[a][t]);
                }
}
