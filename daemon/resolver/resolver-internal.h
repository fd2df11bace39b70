/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What resolver.c (matching, Resolve, List) shares with resolver-explain.c (Explain verdicts and the NoMatch
 * summary): the per-request match context and the matcher. Not for other modules: they use resolver.h. */

#include "resolver.h"

#define ARCH_BIT(a) (1U << (a))

/* The identity of a path the caller named, so "same file" survives symlinks: either (dev, ino) or, when the
 * file is not there, the literal path. */
typedef struct PathKey {
        const char *path;
        bool exists;
        dev_t dev;
        ino_t ino;
} PathKey;

typedef struct MatchContext {
        PathKey executable, nvram_template;
        const char *expanded[_ARCH_MAX];        /* what the requested machine is an alias of, per architecture */
        /* the request's unknown features, sorted (borrowed from it), so that a descriptor's few names are
         * looked up in them rather than each of a thousand names in a descriptor's: every required one, and
         * of the forbidden only those some valid descriptor of the catalogue has (the rest reject nothing) */
        const char **required, **forbidden;
        size_t n_required, n_forbidden;
} MatchContext;

/* Looks up what a request needs once for matching many entries: its paths (unless request_look_up_paths()
 * was called), what its machine is an alias of on each architecture, and which of its unknown features can
 * matter. Returns 0 or -ENOMEM; match_context_done() frees it either way. */
int match_context_init(const Catalogue *c, const Request *req, MatchContext *ret);
void match_context_done(MatchContext *ctx);

/* Whether the entry satisfies the request, with every unmet condition appended to reasons when it is not
 * NULL (see resolver_match()). Returns 1 for a match, 0 for none, -ENOMEM. */
int match_entry(const Entry *e, const Request *req, RequestKind kind, const MatchContext *ctx, char ***reasons);

/* The number in the "N more left out" that ends a full list of reasons, or 0. */
size_t reasons_left_out(char * const *reasons, size_t n);
