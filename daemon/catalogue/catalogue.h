/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The layered search path turned into one immutable, rank-ordered set of descriptors with indexes. A rebuild
 * makes a new catalogue and may share unchanged descriptors with the previous one; nothing here watches. */

#include <sys/types.h>

#include "descriptor.h"
#include "image.h"

typedef enum EntryState {
        ENTRY_VALID,
        ENTRY_INVALID,          /* unreadable, or the descriptor has errors */
        ENTRY_MASKED,           /* an empty file or a symlink to /dev/null */
        ENTRY_SHADOWED,         /* never in a catalogue: a file behind an entry, as List shows it */
        _ENTRY_STATE_MAX,
} EntryState;

const char *entry_state_to_string(EntryState s) _pure_;

typedef struct Catalogue Catalogue;

/* The most descriptor files one catalogue serves. Each is an object on the bus and a child node in the
 * Introspect XML of the firmware node (' <node name="X"/>' and a newline, 17 bytes plus the name as
 * sd_bus_path_encode() escapes it, up to 3 bytes a byte): the names' bytes there are bounded too, to 7 MiB,
 * leaving room under the bus's 8 MiB reply bound. 100,000 names of 30 bytes cost about 5 MiB; names of 255
 * bytes that are all escaped cost 782 bytes each, and 9,386 of them fill the budget. Files past either
 * limit, in rank order, are left out and counted (docs/catalogue.md). */
#define CATALOGUE_ENTRIES_MAX 100000U
#define CATALOGUE_LABEL_BYTES_MAX (7U * 1024U * 1024U)

/* What one name costs in the Introspect XML of the firmware node, in bytes. */
size_t catalogue_label_cost(const char *name) _pure_;

/* Candidates whose machine globs (for one architecture) begin with the same literal text: the characters
 * before the first '*', '?', '[' or '\\'. A glob can only match a machine type that starts with its
 * literal prefix, so a resolve looks only at the buckets whose prefix starts the requested machine type. */
typedef struct MachineBucket {
        const char *prefix;             /* not NUL-terminated at len: points into a descriptor's glob */
        uint32_t len;
        uint32_t n;
        const uint32_t *ranks;          /* rank order, each rank once */
        int32_t parent;                 /* the bucket of the longest shorter prefix of this one, or -1 */
} MachineBucket;

typedef struct MachineIndex {
        MachineBucket *buckets;         /* sorted by prefix, shorter first among equal bytes */
        size_t n_buckets;
        uint32_t *ranks;                /* storage for every bucket's ranks */
} MachineIndex;

/* A referenced image or template, as found on disk at build time. */
typedef struct FileCheck {
        bool ok;                /* exists, is a regular file (after symlinks) and is readable */
        dev_t dev;              /* identity, for path matching; valid when ok */
        ino_t ino;
        ImageFacts *facts;      /* size, digest and layout; NULL when not ok (owned) */
} FileCheck;

/* An entry's file names, shared by every catalogue that carries the entry over unchanged: taking an entry
 * into the next catalogue is then a struct copy and a few references, whatever the size of the catalogue. */
typedef struct EntryPaths {
        unsigned n_ref;
        char *path;
        char **shadowed;
} EntryPaths;

typedef struct Entry {
        /* path and shadowed belong to paths when it is set (every catalogue's entries), else to the entry */
        EntryPaths *paths;
        char *path;             /* the file that won (for masks: the mask), with the root prefix */
        const char *name;       /* its basename, pointing into path */
        unsigned rank;
        unsigned dir_index;     /* index into the search path, 0 = most general */
        EntryState state;
        Descriptor *descriptor; /* NULL when masked */
        char **shadowed;        /* same-named files in less specific directories, most specific first */
        FileId id;
        FileCheck image;        /* descriptor_image() */
        FileCheck vars;         /* descriptor_vars_template(); ok when there is none */
        bool files_checked;     /* image and vars are filled in (internal to a build) */
        uint32_t label_cost;    /* catalogue_label_cost(name) (internal to a build) */
        bool symlink;           /* the file in the directory is a symlink (its target is watched too) */
} Entry;

/* Checks a referenced file: path resolved inside root_fd (see chase.h; AT_FDCWD for the host), a regular file
 * after symlinks, readable. Returns 0 with ret filled in, or a negative errno (-EBADFD: not a regular file)
 * with ret not ok. */
int catalogue_check_path(int root_fd, const char *path, FileCheck *ret);

static inline bool entry_files_ok(const Entry *e) {
        return e->image.ok && e->vars.ok;
}

/* What a table's STATE column says: "ok", "files-missing", "invalid", "masked" or "shadowed". */
const char *entry_state_name(const Entry *e) _pure_;

/* Reads the file at e->path (name, state, descriptor and id are filled in), reusing the descriptor of
 * previous when the file is unchanged. Returns 0 when nothing was parsed (masked or unreadable), 1 when a
 * descriptor was reused, 2 when the file was parsed, or -ENOMEM. */
int catalogue_entry_load(Entry *e, const Catalogue *previous);
/* Releases what the entry holds (its paths, or its path and shadowed list), leaving it empty. */
void entry_done(Entry *e);

struct Catalogue {
        char **dirs;            /* search path as given, most general first, without the root */
        char *root;             /* NULL for none */

        Entry *entries;         /* rank order, i.e. sorted by basename in byte order */
        size_t n_entries;
        size_t n_valid, n_invalid, n_masked, n_shadowed;

        /* valid entries by architecture and interface type, each list in rank order */
        uint32_t *index[_ARCH_MAX][_INTERFACE_MAX];
        size_t n_index[_ARCH_MAX][_INTERFACE_MAX];
        /* the same lists again, bucketed by the literal prefixes of their machine globs */
        MachineIndex machines[_ARCH_MAX][_INTERFACE_MAX];

        uint32_t architecture_mask;     /* over valid entries */
        char **features;                /* every feature name of valid entries, sorted, unique */
        uint64_t feature_mask;          /* the known ones among them, 1 << Feature */
        char **dir_problems;            /* search directories that exist but could not be read */

        size_t n_parsed;                /* descriptors read and parsed by this build */
        size_t n_reused;                /* descriptors taken over from the previous catalogue */

        ImageCache *images;             /* image facts by file identity, shared with the previous catalogue */
        uint64_t n_hashed;              /* images this build hashed */

        size_t max_entries;             /* the cap, at most CATALOGUE_ENTRIES_MAX */
        size_t label_bytes;             /* catalogue_label_cost() of every entry, summed */
        char **left_out;                /* names of files past the cap, sorted; every one ranks after every entry */
        size_t n_left_out;
};

/* Builds a catalogue from dirs (most general first) below root (NULL or "/" for none). When previous is
 * given, files whose FileId is unchanged keep their parsed descriptor instead of being read again. Problems
 * with single files or directories are recorded in the catalogue, never returned. Returns 0 or -ENOMEM. */
int catalogue_build(char * const *dirs, const char *root, const Catalogue *previous, Catalogue **ret);

/* The same, serving at most max_entries files (0 or more than CATALOGUE_ENTRIES_MAX: that; without it, the
 * previous catalogue's cap). Updates of the result keep its cap. Returns 0 or -ENOMEM. */
int catalogue_build_capped(char * const *dirs, const char *root, const Catalogue *previous, size_t max_entries,
                           Catalogue **ret);

/* The same, with image facts from images (a cache seeded with an earlier run's facts, image_cache_add_hints())
 * when there is no previous catalogue: the catalogue and its successors share it. Returns 0 or -ENOMEM. */
int catalogue_build_seeded(char * const *dirs, const char *root, const Catalogue *previous, ImageCache *images,
                           size_t max_entries, Catalogue **ret);

/* Every name in the search directories that a build would look at (names that are not valid UTF-8
 * included, so that an update reports them), sorted and unique: what a full rescan in steps goes through.
 * Reads directories only, no file. Returns 0 or -ENOMEM. */
int catalogue_list_names(char * const *dirs, const char *root, char ***ret);

typedef enum CatalogueUpdateFlags {
        CATALOGUE_UPDATE_FILES = 1 << 0,        /* check every referenced file again */
        CATALOGUE_UPDATE_NAMES = 1 << 1,        /* say anew what is wrong with names, from the directories:
                                                 * the first step of a full rescan, whose later steps keep it */
} CatalogueUpdateFlags;

/* A rebuild that looks again only at the files called changed (basenames, in every search directory):
 * every other entry is taken over from previous unchanged, its file checks too unless flags has
 * CATALOGUE_UPDATE_FILES (true means that). Files left out past the cap come in as room is made.
 * Cheaper than catalogue_build() by the cost of scanning and stat()ing everything; only correct when
 * nothing else changed (the caller knows, from inotify). Returns 0 or -ENOMEM. */
int catalogue_update(const Catalogue *previous, char * const *changed, unsigned flags, Catalogue **ret);

Catalogue *catalogue_free(Catalogue *c);
static inline void catalogue_freep(Catalogue **c) {
        catalogue_free(*c);
}

/* The indexes and the feature set of a freshly filled catalogue (catalogue-index.c), copied from previous
 * (may be NULL) when the valid descriptors and their ranks are previous's. Returns 0 or -ENOMEM. */
int catalogue_index(Catalogue *c, const Catalogue *previous);
void catalogue_index_free(Catalogue *c);

/* The machine buckets of the architecture and interface type whose prefix starts machine: appends up to max
 * of them to ret. Returns their number, or -E2BIG when there are more than max (the caller then walks the
 * whole index). */
int catalogue_machine_buckets(const Catalogue *c, Architecture a, InterfaceType t, const char *machine,
                              const MachineBucket **ret, size_t max);

/* Looks up an entry by basename. Returns NULL when there is none. */
const Entry *catalogue_find(const Catalogue *c, const char *name);

/* Whether two entries' descriptors say the same: one parsed descriptor shared by both, or two that only say,
 * in the same words, why a file could not be read (those are made anew by every build). */
bool descriptor_same(const Descriptor *a, const Descriptor *b) _pure_;

/* What changed between two catalogues, by basename: names only in new (added), only in old (removed), and in
 * both with a different file, state, descriptor, shadowed list or file check (modified). A change of rank
 * alone is not a modification. Each list is sorted; NULL lists mean none. Returns 0 or -ENOMEM. */
int catalogue_diff(const Catalogue *old, const Catalogue *new, char ***ret_added, char ***ret_removed,
                   char ***ret_modified);

/* The standard search path for the system or the user instance, most general first. The user directory
 * comes from $XDG_CONFIG_HOME or $HOME. Returns a strv or NULL on ENOMEM. */
char **catalogue_default_dirs(bool user);

/* The search path from the command line: search_path (colon-separated, replaces the default list) or the
 * default list, with extra_dirs in front as the most general. Returns 0, -EINVAL for a relative directory,
 * or -ENOMEM. */
int catalogue_search_path(bool user, const char *search_path, char * const *extra_dirs, char ***ret);

/* Whether a directory entry of this name is skipped: hidden files and package or editor leftovers. */
bool catalogue_name_ignored(const char *name) _pure_;
