/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The core benchmark of DESIGN section 8: full scan, memory per descriptor, incremental rebuild and
 * in-process resolve time over generated search-path trees. It reports against the targets; it fails only
 * on errors. */

#undef NDEBUG
#include <assert.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>

#include "bench-tree.h"
#include "catalogue/catalogue.h"
#include "resolver/resolver.h"

#define SCAN_RUNS 5
#define REBUILD_RUNS 7
#define RESOLVE_CALLS 100000U
#define RESOLVE_MIN_BATCHES 31U
#define RESOLVE_BATCH_NSEC 200000U              /* a batch long enough for the clock not to matter */
#define RESOLVE_BUDGET_NSEC 2000000000U         /* per measurement, for the slow worst case at large N */

static int compare_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
        qsort(v, n, sizeof(double), compare_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char *const search_dirs[] = { SHARE_DIR, ETC_DIR, NULL };

/* The figures for one size. */
typedef struct Result {
        unsigned n;
        double scan_ms, scan_runs[SCAN_RUNS];
        double rss_per, heap_per;
        long rss_kb;
        size_t heap_bytes;
        double rebuild_ms;              /* catalogue_update() with the changed name, as the daemon does */
        double rescan_ms;               /* catalogue_build() with the previous catalogue (SIGHUP, Reload) */
        size_t n_parsed, n_reused;
        bool parsed_ok;                 /* every rebuild parsed exactly one file */
        double resolve_ns, worst_ns;
        size_t resolve_calls, worst_calls, worst_walk;
} Result;

static int bench_scan(const Tree *t, Result *res) {
        for (int i = -1; i < SCAN_RUNS; i++) {
                _cleanup_(catalogue_freep) Catalogue *c = NULL;
                uint64_t start = now_nsec();
                int r;

                r = catalogue_build((char **) search_dirs, t->root, NULL, &c);
                if (r < 0)
                        return r;
                if (i >= 0)     /* run -1 warms the page and dentry caches */
                        res->scan_runs[i] = (double) (now_nsec() - start) / 1e6;
        }
        double sorted[SCAN_RUNS];
        memcpy(sorted, res->scan_runs, sizeof(sorted));
        res->scan_ms = median(sorted, SCAN_RUNS);
        return 0;
}

/* A field of /proc/self/status in kB, or -1. */
static long status_kb(const char *field) {
        _cleanup_(freep) char *line = NULL;
        size_t allocated = 0, len = strlen(field);
        FILE *f = fopen("/proc/self/status", "re");
        long kb = -1;

        if (!f)
                return -1;
        while (getline(&line, &allocated, f) > 0)
                if (strncmp(line, field, len) == 0 && line[len] == ':') {
                        kb = strtol(line + len + 1, NULL, 10);
                        break;
                }
        fclose(f);
        return kb;
}

/* Builds the catalogue that the later steps use and measures what keeping it costs. */
static int bench_memory(const Tree *t, Result *res, Catalogue **ret) {
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        long rss_before, rss_after;
        size_t heap_before;
        int r;

        malloc_trim(0);
        rss_before = status_kb("RssAnon");
        heap_before = mallinfo2().uordblks;
        r = catalogue_build((char **) search_dirs, t->root, NULL, &c);
        if (r < 0)
                return r;
        malloc_trim(0);
        rss_after = status_kb("RssAnon");
        if (rss_before < 0 || rss_after < 0)
                return -ENODATA;

        res->rss_kb = rss_after - rss_before;
        res->heap_bytes = mallinfo2().uordblks - heap_before;
        res->rss_per = (double) res->rss_kb * 1024 / t->n;
        res->heap_per = (double) res->heap_bytes / t->n;
        *ret = TAKE_PTR(c);
        return 0;
}

/* One file changes, then the catalogue is rebuilt: told which name changed (update) or not (full rescan
 * that still re-parses only what changed). Each run must parse exactly one file. */
static int rebuild_once(Tree *t, Catalogue **current, unsigned run, bool update, double *ret_ms, Result *res) {
        char name[64];
        Catalogue *next = NULL;
        uint64_t start;
        int r;

        r = tree_modify(t, run, name);
        if (r < 0)
                return r;
        start = now_nsec();
        r = update ? catalogue_update(*current, (char *[]) { name, NULL }, false, &next)
                   : catalogue_build((char **) search_dirs, t->root, *current, &next);
        if (r < 0)
                return r;
        *ret_ms = (double) (now_nsec() - start) / 1e6;
        if (next->n_parsed != 1)
                res->parsed_ok = false;
        res->n_parsed = next->n_parsed;
        res->n_reused = next->n_reused;
        catalogue_free(*current);
        *current = next;
        return 0;
}

static int bench_rebuild(Tree *t, Catalogue **current, Result *res) {
        double updates[REBUILD_RUNS], rescans[REBUILD_RUNS];
        int r;

        res->parsed_ok = true;
        for (unsigned i = 0; i < REBUILD_RUNS; i++) {
                r = rebuild_once(t, current, 2 * i, false, &rescans[i], res);
                if (r < 0)
                        return r;
                r = rebuild_once(t, current, 2 * i + 1, true, &updates[i], res);
                if (r < 0)
                        return r;
        }
        res->rebuild_ms = median(updates, REBUILD_RUNS);
        res->rescan_ms = median(rescans, REBUILD_RUNS);
        return 0;
}

typedef int (*ResolveFunc)(const Catalogue *c, const Request *req, const Entry **ret);

/* How 0.1 resolved: every candidate of the architecture and interface list in rank order, for comparison. */
static int resolve_by_walk(const Catalogue *c, const Request *req, const Entry **ret) {
        const uint32_t *index = c->index[req->architecture][INTERFACE_UEFI];

        for (size_t i = 0; i < c->n_index[req->architecture][INTERFACE_UEFI]; i++)
                if (resolver_match(c, &c->entries[index[i]], req, REQUEST_RESOLVE, NULL) > 0) {
                        *ret = &c->entries[index[i]];
                        return 1;
                }
        return 0;
}

static int count_listed(const Entry *e, bool included, void *userdata) {
        *(size_t *) userdata += included;
        return 0;
}

/* A List with a filter, counted as a resolve: 1 when it lists anything. */
static int resolve_by_list(const Catalogue *c, const Request *req, const Entry **ret) {
        size_t n = 0;

        assert(resolver_filter(c, req, count_listed, &n) == 0);
        *ret = NULL;
        return n > 0;
}

/* Median nanoseconds per call over batches, each long enough to time accurately, calling f with the
 * requests in turn. Every result must be expected (1 or 0); returns -EBADMSG when one is not. */
static int bench_resolve_with(ResolveFunc f, const Catalogue *c, const Request *reqs, size_t n_reqs,
                              int expected, double *ret_ns, size_t *ret_calls) {
        static double per_call[RESOLVE_CALLS];
        const Entry *e = NULL;
        size_t batch = 1, n_batches = 0, calls = 0, k = 0;
        uint64_t start = now_nsec();

        for (size_t i = 0; i < n_reqs; i++)
                if (f(c, &reqs[i], &e) != expected)
                        return -EBADMSG;
        /* calibrate: double the batch until it is long enough */
        for (;;) {
                uint64_t t0 = now_nsec();
                for (size_t i = 0; i < batch; i++)
                        assert(f(c, &reqs[k++ % n_reqs], &e) == expected);
                if (now_nsec() - t0 >= RESOLVE_BATCH_NSEC || batch >= RESOLVE_CALLS / RESOLVE_MIN_BATCHES)
                        break;
                batch *= 2;
        }
        while (n_batches < RESOLVE_MIN_BATCHES ||
               (calls < RESOLVE_CALLS && now_nsec() - start < RESOLVE_BUDGET_NSEC)) {
                uint64_t t0 = now_nsec();
                for (size_t i = 0; i < batch; i++)
                        assert(f(c, &reqs[k++ % n_reqs], &e) == expected);
                per_call[n_batches++] = (double) (now_nsec() - t0) / (double) batch;
                calls += batch;
        }
        *ret_ns = median(per_call, n_batches);
        *ret_calls = calls;
        return 0;
}

static int bench_resolve(const Catalogue *c, const Request *req, int expected, double *ret_ns,
                         size_t *ret_calls) {
        return bench_resolve_with(resolver_resolve, c, req, 1, expected, ret_ns, ret_calls);
}

/* x86_64, machine pc-q35-9.2, secure-boot required; with worst_case, also a feature nobody has. */
static int request_make(bool worst_case, Request *ret) {
        /* the worst case of the previous release: a machine type no descriptor lists, which nothing rules out
         * before the glob match, so that every x86_64/uefi entry was tried */
        _cleanup_(request_done) Request r = {
                .has_architecture = true,
                .architecture = ARCH_X86_64,
                .machine = strdup(worst_case ? "x-bench-no-such-machine" : "pc-q35-9.2"),
        };

        if (!r.machine)
                return -ENOMEM;
        if (!worst_case && request_set_feature(&r, "secure-boot", true) < 0)
                return -ENOMEM;
        *ret = r;
        r = (Request) {};
        return 0;
}

static int bench_resolves(const Catalogue *c, Result *res) {
        _cleanup_(request_done) Request realistic = {}, worst = {};
        const Entry *e = NULL;
        int r;

        if (request_make(false, &realistic) < 0 || request_make(true, &worst) < 0)
                return -ENOMEM;
        r = resolver_resolve(c, &realistic, &e);
        if (r != 1 || !streq(e->name, EXPECTED)) {
                fprintf(stderr, "realistic request resolved to '%s', expected '%s'\n", r == 1 ? e->name : "",
                        EXPECTED);
                return -EBADMSG;
        }
        r = bench_resolve(c, &realistic, 1, &res->resolve_ns, &res->resolve_calls);
        if (r < 0)
                return r;
        res->worst_walk = c->n_index[ARCH_X86_64][INTERFACE_UEFI];
        r = bench_resolve(c, &worst, 0, &res->worst_ns, &res->worst_calls);
        if (r < 0)
                fprintf(stderr, "the worst-case request matched something\n");
        return r;
}

static const char *verdict(bool ok);

/* ---- requests naming 1,024 features this build does not know ---------------------------------------- */

#define FEATURE_RUNS 15
#define UNKNOWN_FEATURES 1024U

typedef struct FeatureCost {
        double no_match_ms, no_match_features_ms, list_ms, list_features_ms;
} FeatureCost;

/* What the daemon does with such a request, decoding included: the names set one by one, then Resolve and
 * the NoMatch summary, or a List walk that wants one item. */
static int features_request(Request *r, bool list, bool features) {
        *r = (Request) { .has_architecture = true, .architecture = ARCH_X86_64 };
        if (!list && !(r->machine = strdup("x-bench-no-such-machine")))
                return -ENOMEM;
        for (unsigned i = 0; features && i < UNKNOWN_FEATURES; i++) {
                char name[32];

                snprintf(name, sizeof(name), "x-bench-unknown-%04u", i);
                if (request_set_feature(r, name, false) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int first_only(const Entry *e, bool included, void *userdata) {
        *(size_t *) userdata += included;
        return *(size_t *) userdata >= 1;      /* the page of limit=1 is full */
}

static double features_run(const Catalogue *c, bool list, bool features) {
        double runs[FEATURE_RUNS];

        for (int i = -1; i < FEATURE_RUNS; i++) {
                _cleanup_(request_done) Request r = {};
                _cleanup_(freep) char *summary = NULL;
                const Entry *e = NULL;
                uint64_t start = now_nsec();
                size_t n = 0;

                assert(features_request(&r, list, features) == 0);
                if (list)
                        assert(resolver_filter(c, &r, first_only, &n) == 0 && n >= 1);
                else
                        assert(resolver_resolve(c, &r, &e) == 0 && resolver_summarize(c, &r, &summary) == 0);
                if (i >= 0)
                        runs[i] = (double) (now_nsec() - start) / 1e6;
        }
        return median(runs, FEATURE_RUNS);
}

static void bench_features(const Catalogue *c) {
        FeatureCost f = {
                .no_match_ms = features_run(c, false, false),
                .no_match_features_ms = features_run(c, false, true),
                .list_ms = features_run(c, true, false),
                .list_features_ms = features_run(c, true, true),
        };
        double a = f.no_match_features_ms / f.no_match_ms;

        /* a plain List limit=1 matches one entry: what the names add to it is taking them in, whatever N */
        printf("features:  %u unknown false, decoding included: NoMatch Resolve with its summary %.3f ms "
               "(plain %.3f, %.2fx, %s <= 2x); List x86_64 limit=1 %.3f ms (plain %.3f, +%.3f ms)\n",
               UNKNOWN_FEATURES, f.no_match_features_ms, f.no_match_ms, a, verdict(a <= 2), f.list_features_ms,
               f.list_ms, f.list_features_ms - f.list_ms);
}

static void print_tree(const Tree *t, const Catalogue *c) {
        printf("tree:      %s: %u files in %s, %u in %s, %u images below %s\n", t->root, t->n_share,
               SHARE_DIR, t->n_etc, ETC_DIR, t->n_images, FW);
        printf("catalogue: %zu entries: %zu valid, %zu invalid, %zu masked, %zu shadowed; %zu features; "
               "%zu x86_64/uefi in the index\n", c->n_entries, c->n_valid, c->n_invalid, c->n_masked,
               c->n_shadowed, strv_length(c->features), c->n_index[ARCH_X86_64][INTERFACE_UEFI]);
}

static void print_result(const Result *res) {
        printf("scan:      median %.2f ms (runs:", res->scan_ms);
        for (int i = 0; i < SCAN_RUNS; i++)
                printf(" %.2f", res->scan_runs[i]);
        printf("), %.2f us per descriptor\n", res->scan_ms * 1000 / res->n);
        printf("memory:    RssAnon %+ld kB = %.0f B/descriptor; heap (uordblks) %+zd B = %.0f B/descriptor\n",
               res->rss_kb, res->rss_per, (ssize_t) res->heap_bytes, res->heap_per);
        printf("rebuild:   median %.3f ms over %d one-file changes (catalogue_update), n_parsed %zu, "
               "n_reused %zu%s\n", res->rebuild_ms, REBUILD_RUNS, res->n_parsed, res->n_reused,
               res->parsed_ok ? "" : " (some rebuild did not parse exactly one file)");
        printf("rescan:    median %.3f ms over %d one-file changes (catalogue_build with the previous one)\n",
               res->rescan_ms, REBUILD_RUNS);
        printf("resolve:   %s: median %.1f ns/call (%zu calls)\n", EXPECTED, res->resolve_ns,
               res->resolve_calls);
        printf("no match:  median %.1f ns/call (%zu calls); of the %zu x86_64/uefi entries none is tried: no "
               "glob prefix starts that machine type\n", res->worst_ns, res->worst_calls, res->worst_walk);
}

static int bench_size(unsigned n, bool keep, Result *res) {
        _cleanup_(tree_done) Tree t = {};
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        int r;

        *res = (Result) { .n = n };
        printf("\n== N = %u\n", n);
        r = tree_create(NULL, "bench-catalogue", n, 0, &t);
        if (r < 0) {
                fprintf(stderr, "Failed to create the tree: %s\n", strerror(-r));
                return r;
        }
        if ((r = bench_scan(&t, res)) < 0 || (r = bench_memory(&t, res, &c)) < 0)
                goto finish;
        print_tree(&t, c);
        assert(c->n_entries == n);
        if ((r = bench_rebuild(&t, &c, res)) < 0 || (r = bench_resolves(c, res)) < 0)
                goto finish;
        print_result(res);
        bench_features(c);
finish:
        if (r < 0)
                fprintf(stderr, "N = %u failed: %s\n", n, strerror(-r));
        if (keep)
                printf("kept:      %s\n", t.root);
        else if (tree_remove(&t) < 0)
                fprintf(stderr, "Failed to remove '%s': %m, ignoring.\n", t.root);
        return r;
}

/* ---- decoys ahead of the answer ------------------------------------------------------------------------ */

#define DECOY_BASE 10000U
#define N_MACHINES 8

typedef struct DecoyResult {
        unsigned decoys, n, answer_rank;
        double resolve_ns, list_ns, walk_ns, worst_ns;
} DecoyResult;

/* Requests naming each versioned machine type of tree_machine(), with secure-boot required. */
static int machine_requests(Request reqs[static N_MACHINES]) {
        for (unsigned i = 0; i < N_MACHINES; i++) {
                reqs[i] = (Request) { .has_architecture = true, .architecture = ARCH_X86_64,
                                      .machine = strdup(tree_machine(i)) };
                if (!reqs[i].machine || request_set_feature(&reqs[i], "secure-boot", true) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int bench_decoys_with(const Catalogue *c, Request reqs[static N_MACHINES], DecoyResult *res) {
        _cleanup_(request_done) Request worst = {};
        const Entry *e = NULL;
        size_t calls;
        int r;

        for (unsigned i = 0; i < N_MACHINES; i++)
                if (resolver_resolve(c, &reqs[i], &e) != 1 || !streq(e->name, EXPECTED)) {
                        fprintf(stderr, "'%s' did not resolve to '%s'\n", reqs[i].machine, EXPECTED);
                        return -EBADMSG;
                }
        res->answer_rank = e->rank;
        r = request_make(true, &worst);
        if (r < 0)
                return r;
        if ((r = bench_resolve_with(resolver_resolve, c, reqs, N_MACHINES, 1, &res->resolve_ns, &calls)) < 0 ||
            (r = bench_resolve_with(resolve_by_list, c, reqs, N_MACHINES, 1, &res->list_ns, &calls)) < 0 ||
            (r = bench_resolve_with(resolve_by_walk, c, reqs, N_MACHINES, 1, &res->walk_ns, &calls)) < 0 ||
            (r = bench_resolve(c, &worst, 0, &res->worst_ns, &calls)) < 0)
                return r;
        printf("decoys:    %u ahead of %s (rank %u) in %u: resolve %.1f ns, List filter %.1f ns, "
               "0.1's walk %.1f ns, no match %.1f ns\n", res->decoys, EXPECTED, res->answer_rank, res->n,
               res->resolve_ns, res->list_ns, res->walk_ns, res->worst_ns);
        return 0;
}

/* A tree of DECOY_BASE descriptors plus the decoys; Resolve and List over requests that each name another
 * versioned machine type. */
static int bench_decoys(unsigned decoys, bool keep, DecoyResult *res) {
        _cleanup_(tree_done) Tree t = {};
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        Request reqs[N_MACHINES] = {};
        int r;

        *res = (DecoyResult) { .decoys = decoys, .n = DECOY_BASE + decoys };
        r = tree_create(NULL, "bench-catalogue", res->n, decoys, &t);
        if (r >= 0)
                r = catalogue_build((char **) search_dirs, t.root, NULL, &c);
        if (r >= 0)
                r = machine_requests(reqs);
        if (r >= 0)
                r = bench_decoys_with(c, reqs, res);
        for (unsigned i = 0; i < N_MACHINES; i++)
                request_done(&reqs[i]);
        if (r < 0)
                fprintf(stderr, "%u decoys failed: %s\n", decoys, strerror(-r));
        if (keep && t.root)
                printf("kept:      %s\n", t.root);
        else if (t.root && tree_remove(&t) < 0)
                fprintf(stderr, "Failed to remove '%s': %m, ignoring.\n", t.root);
        return r;
}

static void print_decoys(const DecoyResult *res, size_t n) {
        printf("\n%8s %8s %6s %11s %11s %13s %13s\n", "decoys", "N", "rank", "resolve ns", "list ns",
               "0.1 walk ns", "no-match ns");
        for (size_t i = 0; i < n; i++)
                printf("%8u %8u %6u %11.1f %11.1f %13.1f %13.1f\n", res[i].decoys, res[i].n, res[i].answer_rank,
                       res[i].resolve_ns, res[i].list_ns, res[i].walk_ns, res[i].worst_ns);
        if (n < 2)
                return;
        double ratio = res[n - 1].resolve_ns / res[0].resolve_ns;
        printf("  %s  resolve with %u decoys / with %u = %.3f <= 1.1 (flat)\n", ratio <= 1.1 ? "PASS" : "MISS",
               res[n - 1].decoys, res[0].decoys, ratio);
}

static const char *verdict(bool ok) {
        return ok ? "PASS" : "MISS";
}

static void print_summary(const Result *res, size_t n) {
        const Result *small = &res[0], *big = &res[0];

        printf("\n%8s %10s %10s %10s %12s %11s %9s %11s %13s\n", "N", "scan ms", "RSS B/d", "heap B/d",
               "rebuild ms", "rescan ms", "n_parsed", "resolve ns", "no-match ns");
        for (size_t i = 0; i < n; i++) {
                printf("%8u %10.2f %10.0f %10.0f %12.3f %11.3f %9zu %11.1f %13.1f\n", res[i].n, res[i].scan_ms,
                       res[i].rss_per, res[i].heap_per, res[i].rebuild_ms, res[i].rescan_ms, res[i].n_parsed,
                       res[i].resolve_ns, res[i].worst_ns);
                if (res[i].n < small->n)
                        small = &res[i];
                if (res[i].n > big->n)
                        big = &res[i];
        }

        double ratio = big->scan_ms / big->rebuild_ms, resolve_ratio = big->resolve_ns / small->resolve_ns;
        bool parsed_ok = true;
        for (size_t i = 0; i < n; i++)
                parsed_ok = parsed_ok && res[i].parsed_ok;

        printf("\nTargets (DESIGN section 8), at N = %u%s:\n", big->n,
               big->n == 10000 ? "" : " (the targets are set for 10000)");
        printf("  %s  full scan %.2f ms < 150 ms\n", verdict(big->scan_ms < 150), big->scan_ms);
        printf("  %s  resident memory %.0f B/descriptor < 2048 (heap %.0f)\n", verdict(big->rss_per < 2048),
               big->rss_per, big->heap_per);
        printf("  %s  incremental rebuild %.3f ms, %.1fx cheaper than a scan (>= 10x)\n",
               verdict(ratio >= 10), big->rebuild_ms, ratio);
        printf("  %s  incremental rebuild %.3f ms < 10 ms (the signal is due within debounce + 10 ms)\n",
               verdict(big->rebuild_ms < 10), big->rebuild_ms);
        printf("  %s  one changed file parses one file (n_parsed == 1 at every N)\n", verdict(parsed_ok));
        printf("  %s  resolve(%u) / resolve(%u) = %.3f <= 1.1\n", verdict(resolve_ratio <= 1.1), big->n,
               small->n, resolve_ratio);
}

static void print_environment(void) {
        _cleanup_(freep) char *line = NULL;
        size_t allocated = 0;
        FILE *f = fopen("/proc/cpuinfo", "re");

        while (f && getline(&line, &allocated, f) > 0)
                if (strncmp(line, "model name", 10) == 0) {
                        printf("cpu: %s", strchr(line, ':') ? strchr(line, ':') + 2 : line);
                        break;
                }
        if (f)
                fclose(f);
        printf("scan: catalogue_build() of %s and %s, median of %d runs after one warm-up\n", SHARE_DIR,
               ETC_DIR, SCAN_RUNS);
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "sizes", required_argument, NULL, 's' },
                { "keep", no_argument, NULL, 'k' },
                { "decoys", required_argument, NULL, 'D' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        unsigned sizes[16] = { 10, 1000, 10000 }, decoys[16] = { 0, 100, 2500, 10000 };
        Result results[ELEMENTSOF(sizes)];
        DecoyResult decoy_results[ELEMENTSOF(decoys)];
        int n_sizes = 3, n_decoys = 4, c;
        bool keep = false;

        while ((c = getopt_long(argc, argv, "s:kD:h", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        n_sizes = tree_parse_sizes(optarg, sizes, ELEMENTSOF(sizes));
                        if (n_sizes < 0) {
                                fprintf(stderr, "Invalid --sizes '%s': up to %zu sizes from %u to %u, "
                                        "comma-separated.\n", optarg, ELEMENTSOF(sizes), TREE_SIZE_MIN,
                                        TREE_SIZE_MAX);
                                return EXIT_FAILURE;
                        }
                        break;
                case 'k':
                        keep = true;
                        break;
                case 'D':
                        n_decoys = streq(optarg, "none") ? 0 :
                                   tree_parse_counts(optarg, 0, TREE_SIZE_MAX - DECOY_BASE, decoys,
                                                     ELEMENTSOF(decoys));
                        if (n_decoys < 0) {
                                fprintf(stderr, "Invalid --decoys '%s': up to %zu counts up to %u, or 'none'.\n",
                                        optarg, ELEMENTSOF(decoys), TREE_SIZE_MAX - DECOY_BASE);
                                return EXIT_FAILURE;
                        }
                        break;
                case 'h':
                        printf("%s [--sizes 10,1000,10000] [--decoys 0,100,2500,10000|none] [--keep]\n",
                               program_invocation_short_name);
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }
        if (optind < argc) {
                fprintf(stderr, "Unexpected argument '%s'.\n", argv[optind]);
                return EXIT_FAILURE;
        }

        print_environment();
        for (int i = 0; i < n_sizes; i++)
                if (bench_size(sizes[i], keep, &results[i]) < 0)
                        return EXIT_FAILURE;
        print_summary(results, (size_t) n_sizes);
        printf("\n== decoys: %u descriptors plus D x86_64/uefi ones ahead of the answer, failing only on the "
               "machine glob; requests cycle through %d versioned machine types\n", DECOY_BASE, N_MACHINES);
        for (int i = 0; i < n_decoys; i++)
                if (bench_decoys(decoys[i], keep, &decoy_results[i]) < 0)
                        return EXIT_FAILURE;
        print_decoys(decoy_results, (size_t) n_decoys);
        return EXIT_SUCCESS;
}
