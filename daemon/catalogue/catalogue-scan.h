/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Inside the catalogue: finding descriptor files in the search directories and loading one into an entry
 * (catalogue-scan.c), for the builds and updates of catalogue.c. Not for use outside the catalogue. */

#include "catalogue.h"

/* One directory entry seen while scanning. */
typedef struct Candidate {
        char *name;
        unsigned dir_index;
        unsigned char type;     /* DT_*, DT_UNKNOWN when the directory did not say */
} Candidate;

typedef struct Scan {
        Candidate *items;
        size_t n, allocated;
} Scan;

/* The search directories of one build, opened once so that every file is reached relative to them. */
typedef struct Dirs {
        char **paths;           /* with the root prefix */
        int *fds;               /* -1 where the directory is missing or unreadable */
        size_t n;
        int root_fd;            /* everything below a root is resolved inside it; AT_FDCWD without one */
} Dirs;

/* Where a file is looked up: name below dirfd on the host, or (with a root) the path inner resolved inside
 * root_fd, so that its symlinks, absolute ones included, stay inside the root. */
typedef struct Place {
        int dirfd;
        const char *name;
        int root_fd;
        const char *inner;      /* NULL: no root */
} Place;

#define NAME_PROBLEM_SUFFIX "' is not valid UTF-8, skipping"

/* Adds a candidate (the name is copied). Returns 0 or -ENOMEM. */
int scan_add(Scan *s, const char *name, unsigned dir_index, unsigned char type);
void scan_done(Scan *s);
/* qsort() order of candidates: by name in byte order, the most specific directory first. Returns <0, 0, >0. */
int candidate_compare(const void *a, const void *b);

/* Opens the root and the search directories of c; what is wrong with them goes to c->dir_problems. Returns
 * 0 or -ENOMEM. */
int dirs_open(Catalogue *c, Dirs *ret);
void dirs_done(Dirs *d);

/* What is said about a name that is not valid UTF-8 in a search directory. Returns it, or NULL on ENOMEM. */
char *name_problem(const char *dir, const char *name);

/* Adds every usable name in search directory dir_index to s; problems go to c->dir_problems. With
 * keep_invalid, names that are not valid UTF-8 are added too instead. Without s, only the problems are
 * recorded. Returns 0 or -ENOMEM. */
int scan_directory(Catalogue *c, Scan *s, const Dirs *dirs, unsigned dir_index, bool keep_invalid);

/* Adds name's candidates (where it exists, as a symlink or not) to s; a name that is not valid UTF-8 goes
 * to c->dir_problems instead. Returns 0 or -ENOMEM. */
int scan_name(Catalogue *c, Scan *s, const Dirs *dirs, const char *name);

/* Loads the file at place into e, reusing previous's descriptor when the file is unchanged. Returns as
 * catalogue_entry_load() does. */
int entry_load_at(Entry *e, const Place *place, const Catalogue *previous);
