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

typedef struct GlobKey {
        const char *prefix;
        uint32_t len;
        uint32_t rank;
} GlobKey;

static int prefix_compare(const char *a, uint32_t a_len, const char *b, uint32_t b_len) {
        int k = memcmp(a, b, a_len < b_len ? a_len : b_len);

        if (k != 0)
                return k;
        return a_len < b_len ? -1 : a_len > b_len;
}

static int glob_key_compare(const void *a, const void *b) {
        const GlobKey *x = a, *y = b;
        int k = prefix_compare(x->prefix, x->len, y->prefix, y->len);

        if (k != 0)
                return k;
        return x->rank < y->rank ? -1 : x->rank > y->rank;
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

/* Every (glob prefix, rank) of the list's entries for architecture a, sorted. */
static int glob_keys(const Catalogue *c, Architecture a, const uint32_t *list, size_t n, GlobKey **ret,
                     size_t *ret_n) {
        _cleanup_(freep) GlobKey *keys = NULL;
        size_t n_keys = 0, allocated = 0;

        for (size_t i = 0; i < n; i++) {
                const Descriptor *d = c->entries[list[i]].descriptor;

                for (size_t j = 0; j < d->n_targets; j++) {
                        if (d->targets[j].architecture != a)
                                continue;
                        STRV_FOREACH(g, d->targets[j].machines) {
                                if (n_keys == allocated) {
                                        GlobKey *k;

                                        allocated = allocated ? allocated * 2 : 64;
                                        k = reallocarray(keys, allocated, sizeof(GlobKey));
                                        if (!k)
                                                return -ENOMEM;
                                        keys = k;
                                }
                                keys[n_keys++] = (GlobKey) { *g, glob_literal_prefix(*g), list[i] };
                        }
                }
        }
        if (n_keys > 0)
                qsort(keys, n_keys, sizeof(GlobKey), glob_key_compare);
        *ret = TAKE_PTR(keys);
        *ret_n = n_keys;
        return 0;
}

static void machine_index_done(MachineIndex *x) {
        free(x->buckets);
        free(x->ranks);
        *x = (MachineIndex) {};
}

static int machine_index_build(const Catalogue *c, Architecture a, InterfaceType t, MachineIndex *ret) {
        _cleanup_(machine_index_done) MachineIndex x = {};
        _cleanup_(freep) GlobKey *keys = NULL;
        size_t n_keys, n_ranks = 0;
        int r;

        r = glob_keys(c, a, c->index[a][t], c->n_index[a][t], &keys, &n_keys);
        if (r < 0 || n_keys == 0)
                return r;
        x.ranks = calloc(n_keys, sizeof(uint32_t));
        x.buckets = calloc(n_keys, sizeof(MachineBucket));
        if (!x.ranks || !x.buckets)
                return -ENOMEM;
        for (size_t i = 0; i < n_keys; i++) {
                MachineBucket *b = x.n_buckets > 0 ? &x.buckets[x.n_buckets - 1] : NULL;

                if (!b || prefix_compare(b->prefix, b->len, keys[i].prefix, keys[i].len) != 0) {
                        b = &x.buckets[x.n_buckets++];
                        *b = (MachineBucket) { .prefix = keys[i].prefix, .len = keys[i].len,
                                               .ranks = &x.ranks[n_ranks], .parent = -1 };
                } else if (b->ranks[b->n - 1] == keys[i].rank)
                        continue;       /* two globs of one entry with the same prefix */
                x.ranks[n_ranks++] = keys[i].rank;
                b->n++;
        }
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

int catalogue_index(Catalogue *c) {
        int r;

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
