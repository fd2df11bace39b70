/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Generated search-path trees for the benchmarks: a Debian-like distribution set, a bulk of vendor builds of
 * every kind, local overrides, masks and the images they name. Deterministic; it measures nothing. */

#include "util/util.h"

#define FW "/usr/share/fw/"
#define SHARE_DIR "/usr/share/qemu/firmware"
#define ETC_DIR "/etc/qemu/firmware"
/* What x86_64, pc-q35-9.2, +secure-boot resolves to in every generated tree; and what it resolves to for
 * every machine name tree_machine() gives. */
#define EXPECTED "40-edk2-x86_64-secure-enrolled.json"

/* One generated search-path tree. */
typedef struct Tree {
        char *root;
        char *share, *etc;              /* the two search directories, with the root */
        unsigned n;                     /* catalogue entries: distribution + bulk + local */
        unsigned n_bulk, n_local;
        unsigned n_decoys;              /* ranked ahead of EXPECTED, failing only on the machine glob */
        unsigned n_share, n_etc, n_images;
        unsigned revision;              /* of the last incremental change */
} Tree;

/* The sizes a tree can have: enough for the distribution set, few enough for /tmp. */
#define TREE_SIZE_MIN 10U
#define TREE_SIZE_MAX 1000000U

void tree_done(Tree *t);

/* "10,1000,10000" into up to max sizes, each from TREE_SIZE_MIN to TREE_SIZE_MAX. Returns the count, or
 * -EINVAL. */
int tree_parse_sizes(const char *s, unsigned *sizes, size_t max);

/* The same for any comma-separated counts from min to max_value. Returns the count, or -EINVAL. */
int tree_parse_counts(const char *s, unsigned min, unsigned max_value, unsigned *counts, size_t max);

/* Writes a tree of n (at least 10 + decoys) catalogue entries below a new directory <dir>/<prefix>.XXXXXX,
 * dir NULL meaning $TMPDIR or /tmp. Among them, decoys: x86_64/uefi descriptors with everything EXPECTED
 * has, ranked ahead of it, whose versioned machine globs match no name tree_machine() gives (a site that
 * keeps a descriptor per build or per machine type). Returns 0 or a negative errno; a partial tree is left
 * on disk on failure. */
int tree_create(const char *dir, const char *prefix, unsigned n, unsigned decoys, Tree *ret);

/* The i-th of the x86_64 machine names requests cycle through: versioned q35 types. */
const char *tree_machine(unsigned i);

/* Removes the whole tree from disk (not the Tree itself). Returns 0 or a negative errno. */
int tree_remove(const Tree *t);

/* Removes a directory and everything below it, not following symlinks. Returns 0 or a negative errno. */
int tree_remove_path(const char *path);

/* Rewrites one plain bulk file in place with new content, as an editor or a package upgrade would, and
 * names it in name. Returns 0 or a negative errno. */
int tree_modify(Tree *t, unsigned run, char name[static 64]);
