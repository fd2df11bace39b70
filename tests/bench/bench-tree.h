/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Generated search-path trees for the benchmarks: a Debian-like distribution set, a bulk of vendor builds of
 * every kind, local overrides, masks and the images they name. Deterministic; it measures nothing. */

#include "util.h"

#define FW "/usr/share/fw/"
#define SHARE_DIR "/usr/share/qemu/firmware"
#define ETC_DIR "/etc/qemu/firmware"
/* What x86_64, pc-q35-9.2, +secure-boot resolves to in every generated tree. */
#define EXPECTED "40-edk2-x86_64-secure-enrolled.json"

/* One generated search-path tree. */
typedef struct Tree {
        char *root;
        char *share, *etc;              /* the two search directories, with the root */
        unsigned n;                     /* catalogue entries: distribution + bulk + local */
        unsigned n_bulk, n_local;
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

/* Writes a tree of n (at least 10) catalogue entries below a new directory <dir>/<prefix>.XXXXXX, dir NULL
 * meaning $TMPDIR or /tmp. Returns 0 or a negative errno; a partial tree is left on disk on failure. */
int tree_create(const char *dir, const char *prefix, unsigned n, Tree *ret);

/* Removes the whole tree from disk (not the Tree itself). Returns 0 or a negative errno. */
int tree_remove(const Tree *t);

/* Removes a directory and everything below it, not following symlinks. Returns 0 or a negative errno. */
int tree_remove_path(const char *path);

/* Rewrites one plain bulk file in place with new content, as an editor or a package upgrade would, and
 * names it in name. Returns 0 or a negative errno. */
int tree_modify(Tree *t, unsigned run, char name[static 64]);
