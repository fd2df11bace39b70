/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "catalogue.h"
#include "catalogue-scan.h"
#include "util/chase.h"

const char *entry_state_to_string(EntryState s) {
        static const char *const table[_ENTRY_STATE_MAX] = {
                [ENTRY_VALID] = "valid",
                [ENTRY_INVALID] = "invalid",
                [ENTRY_MASKED] = "masked",
                [ENTRY_SHADOWED] = "shadowed",
        };
        return s < _ENTRY_STATE_MAX ? table[s] : NULL;
}

const char *entry_state_name(const Entry *e) {
        if (e->state == ENTRY_VALID)
                return entry_files_ok(e) ? "ok" : "files-missing";
        return entry_state_to_string(e->state);
}

/* A small open-addressing cache of referenced file checks: many descriptors share one image. */
typedef struct CheckCache {
        const char **keys;
        FileCheck *values;
        size_t size;
        int root_fd;
} CheckCache;

static size_t hash_string(const char *s) {
        size_t h = 5381;
        for (; *s; s++)
                h = h * 33 + (unsigned char) *s;
        return h;
}

int catalogue_check_path(int root_fd, const char *path, FileCheck *ret) {
        _cleanup_(closep) int fd = -1;
        struct stat st;
        int r;

        *ret = (FileCheck) {};
        r = chase_stat(root_fd, path, &st);
        if (r < 0)
                return r;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (root_fd == AT_FDCWD) {      /* on the host, what it always was: cheaper than opening */
                if (access(path, R_OK) < 0)
                        return -errno;
                *ret = (FileCheck) { .ok = true, .dev = st.st_dev, .ino = st.st_ino };
                return 0;
        }
        /* opened for reading only once it is known to be a regular file: opening devices can have effects */
        fd = chase_open(root_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return fd;
        *ret = (FileCheck) { .ok = true, .dev = st.st_dev, .ino = st.st_ino };
        return 0;
}

static int check_file(const Catalogue *c, CheckCache *cache, const char *path, FileCheck *ret) {
        size_t i = hash_string(path) & (cache->size - 1);
        FileCheck f = {};

        for (; cache->keys[i]; i = (i + 1) & (cache->size - 1))
                if (streq(cache->keys[i], path)) {
                        *ret = cache->values[i];
                        ret->facts = image_facts_ref(ret->facts);
                        return 0;
                }

        if (catalogue_check_path(cache->root_fd, path, &f) == -ENOMEM)
                return -ENOMEM;
        if (f.ok) {
                /* readable means its facts could be read: a file that cannot be hashed is not ok */
                struct stat st;
                int r = chase_stat(cache->root_fd, path, &st);

                if (r >= 0)
                        r = image_cache_get(c->images, cache->root_fd, path, &st, &f.facts);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        f = (FileCheck) {};
        }

        cache->keys[i] = path;
        cache->values[i] = f;           /* the cache keeps the reference it got */
        *ret = f;
        ret->facts = image_facts_ref(f.facts);
        return 0;
}

static int catalogue_check_files(Catalogue *c) {
        uint64_t hashed = image_cache_n_hashed(c->images);
        CheckCache cache = { .root_fd = chase_root_open(c->root) };
        size_t n = 0;
        int r = 0;

        if (cache.root_fd == -ENOMEM)
                return -ENOMEM;
        /* facts that only the cache still holds belong to files no live catalogue names */
        image_cache_prune(c->images);

        /* two paths per entry to check at most, kept under half full: sized by the entries an update looked
         * at, not by the catalogue, since the others keep their checks */
        for (size_t i = 0; i < c->n_entries; i++)
                n += c->entries[i].state == ENTRY_VALID && !c->entries[i].files_checked;
        cache.size = 16;
        while (cache.size < n * 4)
                cache.size *= 2;
        cache.keys = calloc(cache.size, sizeof(char *));
        cache.values = calloc(cache.size, sizeof(FileCheck));
        if (!cache.keys || !cache.values) {
                r = -ENOMEM;
                goto finish;
        }

        for (size_t i = 0; i < c->n_entries; i++) {
                Entry *e = &c->entries[i];
                const char *image, *vars;

                if (e->state != ENTRY_VALID || e->files_checked)
                        continue;
                e->files_checked = true;
                image = descriptor_image(e->descriptor);
                vars = descriptor_vars_template(e->descriptor);
                r = check_file(c, &cache, image, &e->image);
                if (r < 0)
                        goto finish;
                if (vars)
                        r = check_file(c, &cache, vars, &e->vars);
                else
                        e->vars.ok = true;
                if (r < 0)
                        goto finish;
        }
finish:
        c->n_hashed = image_cache_n_hashed(c->images) - hashed;
        for (size_t i = 0; cache.values && i < cache.size; i++)
                image_facts_unref(cache.values[i].facts);
        free(cache.keys);
        free(cache.values);
        chase_root_close(cache.root_fd);
        return r;
}

static void catalogue_count(Catalogue *c, const Entry *e, int loaded) {
        if (loaded == 1)
                c->n_reused++;
        else if (loaded == 2)
                c->n_parsed++;
        c->n_valid += e->state == ENTRY_VALID;
        c->n_invalid += e->state == ENTRY_INVALID;
        c->n_masked += e->state == ENTRY_MASKED;
        c->n_shadowed += strv_length(e->shadowed);
}

/* Moves the entry's path and shadowed list into a block that later catalogues share. Returns 0 or -ENOMEM
 * (the entry still owns them then). */
static int entry_share_paths(Entry *e) {
        EntryPaths *p = malloc(sizeof(EntryPaths));

        if (!p)
                return -ENOMEM;
        *p = (EntryPaths) { .n_ref = 1, .path = e->path, .shadowed = e->shadowed };
        e->paths = p;
        return 0;
}

static void entry_paths_unref(EntryPaths *p) {
        if (!p || --p->n_ref > 0)
                return;
        free(p->path);
        strv_free(p->shadowed);
        free(p);
}

/* Adds the entry for one name from its candidates, most specific first: the first wins, the rest are
 * shadowed by it. */
static int catalogue_add_group(Catalogue *c, const Dirs *dirs, const Candidate *group, size_t n,
                               const Catalogue *previous) {
        Entry *e = &c->entries[c->n_entries];
        int r;

        e->path = path_join(dirs->paths[group[0].dir_index], group[0].name);
        if (!e->path)
                return -ENOMEM;
        e->name = e->path + strlen(e->path) - strlen(group[0].name);
        e->rank = (unsigned) c->n_entries;
        e->dir_index = group[0].dir_index;
        e->vars.ok = true;
        c->n_entries++;

        for (size_t i = 1; i < n; i++) {
                r = strv_consume(&e->shadowed, path_join(dirs->paths[group[i].dir_index], group[i].name));
                if (r < 0)
                        return r;
        }
        _cleanup_(freep) char *inner = NULL;
        if (dirs->root_fd != AT_FDCWD) {
                inner = path_join(c->dirs[group[0].dir_index], group[0].name);
                if (!inner)
                        return -ENOMEM;
        }
        r = entry_load_at(e, &(Place) { .dirfd = dirs->fds[group[0].dir_index], .name = group[0].name,
                                        .root_fd = dirs->root_fd, .inner = inner }, previous);
        if (r < 0)
                return r;
        if (group[0].type == DT_UNKNOWN) {
                struct stat st;
                e->symlink = fstatat(dirs->fds[group[0].dir_index], group[0].name, &st, AT_SYMLINK_NOFOLLOW) >= 0 &&
                             S_ISLNK(st.st_mode);
        } else
                e->symlink = group[0].type == DT_LNK;
        catalogue_count(c, e, r);
        return entry_share_paths(e);
}

/* Takes an unchanged entry over from the previous catalogue, referenced file checks included: it shares the
 * previous entry's paths, descriptor and facts, so this allocates nothing. */
static void catalogue_copy_entry(Catalogue *c, const Entry *old, bool recheck_files) {
        Entry *e = &c->entries[c->n_entries];

        assert(old->paths);
        *e = *old;
        if (recheck_files && e->state == ENTRY_VALID) {
                e->files_checked = false;
                e->image = (FileCheck) {};
                e->vars = (FileCheck) { .ok = true };
        } else {
                image_facts_ref(e->image.facts);
                image_facts_ref(e->vars.facts);
        }
        e->paths->n_ref++;
        e->descriptor = descriptor_ref(old->descriptor);
        e->rank = (unsigned) c->n_entries++;
        catalogue_count(c, e, e->descriptor ? 1 : 0);
}

static int string_ptr_compare(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

static size_t group_length(const Scan *s, size_t i) {
        size_t n = 1;
        while (i + n < s->n && streq(s->items[i + n].name, s->items[i].name))
                n++;
        return n;
}

size_t catalogue_label_cost(const char *name) {
        size_t n = 17;          /* ' <node name="' '"/>' '\n' */

        for (const char *p = name; *p; p++) {
                bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
                bool digit = *p >= '0' && *p <= '9';
                n += alpha || (digit && p > name) ? 1 : 3;
        }
        return n;
}

static int strv_push_bounded(char ***l, size_t *n, size_t capacity, const char *s);

/* Where a merge of names is: the three sorted lists that make up a catalogue's next entries. */
typedef struct Merge {
        const Scan *scan;               /* candidates found for changed names (or, for a build, all) */
        size_t i;
        const Entry *old;               /* the previous entries (an update only) */
        size_t n_old, j;
        char * const *left;             /* the previous catalogue's left-out names (an update only) */
        size_t n_left, k;
        char * const *changed;          /* sorted: previous entries and left-out names of these are gone */
        size_t n_changed, c;
} Merge;

/* Whether name is one of the changed names. The merge asks in ascending order, so one cursor walks the
 * changed names once: O(previous + changed) for a whole update rather than a search per entry. */
static bool merge_changed(Merge *g, const char *name) {
        while (g->c < g->n_changed && strcmp(g->changed[g->c], name) < 0)
                g->c++;
        return g->c < g->n_changed && streq(g->changed[g->c], name);
}

/* The smallest name at the heads of the three lists; 0 candidates, 1 previous entry, 2 left out, -1 none. */
static int merge_next(const Merge *g, const char **ret) {
        const char *heads[3] = {
                g->i < g->scan->n ? g->scan->items[g->i].name : NULL,
                g->j < g->n_old ? g->old[g->j].name : NULL,
                g->k < g->n_left ? g->left[g->k] : NULL,
        };
        int best = -1;

        for (int x = 0; x < 3; x++)
                if (heads[x] && (best < 0 || strcmp(heads[x], heads[best]) < 0))
                        best = x;
        *ret = best >= 0 ? heads[best] : NULL;
        return best;
}

/* Whether one more entry of this name stays within the cap. */
static bool catalogue_has_room(const Catalogue *c, size_t label_cost) {
        return c->n_entries < c->max_entries && c->label_bytes + label_cost <= CATALOGUE_LABEL_BYTES_MAX;
}

/* A file left out before, now that there is room: looked up again like a changed name. */
static int catalogue_add_left(Catalogue *c, const Dirs *dirs, const char *name, const Catalogue *previous) {
        Scan s = {};
        int r;

        r = scan_name(c, &s, dirs, name);
        if (r >= 0 && s.n > 0) {
                qsort(s.items, s.n, sizeof(Candidate), candidate_compare);
                r = catalogue_add_group(c, dirs, s.items, s.n, previous);
        }
        scan_done(&s);
        return r;
}

/* Builds the entries from sorted candidates, and (for an update) the previous entries and left-out names
 * that did not change, in one merge by name; past the cap, names only go to left_out. */
static int catalogue_fill(Catalogue *c, const Dirs *dirs, Merge *g, const Catalogue *previous, bool recheck_files) {
        size_t n_max = g->scan->n + g->n_old + g->n_left, n_left_out = 0;
        bool full = false;
        int r = 0;

        c->entries = calloc((n_max < c->max_entries ? n_max : c->max_entries) ?: 1, sizeof(Entry));
        if (!c->entries)
                return -ENOMEM;

        for (;;) {
                const char *name;
                int from = merge_next(g, &name);
                size_t before = c->n_entries;

                if (from < 0 || r < 0)
                        break;
                if (from == 1 && merge_changed(g, name)) {
                        g->j++;         /* looked up again: its candidates, if any, stand for it */
                        continue;
                }
                if (from == 2 && merge_changed(g, name)) {
                        g->k++;
                        continue;
                }
                /* an entry taken over knows its cost: a step does not look at every name again */
                size_t cost = from == 1 ? g->old[g->j].label_cost : catalogue_label_cost(name);
                full = full || !catalogue_has_room(c, cost);
                if (full)               /* rank order: once one is left out, so is everything after it */
                        r = strv_push_bounded(&c->left_out, &n_left_out, n_max, name);
                if (from == 0) {
                        size_t n = group_length(g->scan, g->i);
                        if (!full)
                                r = catalogue_add_group(c, dirs, &g->scan->items[g->i], n, previous);
                        g->i += n;
                } else if (from == 1) {
                        if (!full)
                                catalogue_copy_entry(c, &g->old[g->j], recheck_files);
                        g->j++;
                } else {
                        if (!full)
                                r = catalogue_add_left(c, dirs, name, previous);
                        g->k++;
                }
                if (c->n_entries > before) {
                        c->entries[before].label_cost = (uint32_t) cost;
                        c->label_bytes += cost;
                }
        }
        c->n_left_out = n_left_out;
        return r;
}

static int catalogue_new(char * const *dirs, const char *root, const Catalogue *previous, ImageCache *images,
                         Catalogue **ret) {
        _cleanup_(catalogue_freep) Catalogue *c = calloc(1, sizeof(Catalogue));
        int r;

        if (!c)
                return -ENOMEM;
        /* image facts outlive a catalogue: an image that did not change is never hashed again */
        if (previous && previous->images)
                c->images = image_cache_ref(previous->images);
        else if (images)
                c->images = image_cache_ref(images);
        else {
                r = image_cache_new(&c->images);
                if (r < 0)
                        return r;
        }
        c->dirs = strv_copy(dirs);
        if (!c->dirs)
                return -ENOMEM;
        if (!isempty(root) && !streq(root, "/")) {
                c->root = strdup(root);
                if (!c->root)
                        return -ENOMEM;
        }
        c->max_entries = previous ? previous->max_entries : CATALOGUE_ENTRIES_MAX;
        *ret = TAKE_PTR(c);
        return 0;
}

/* Everything that follows from the entries: file checks (for entries not taken over), indexes, features. */
static int catalogue_finish(Catalogue *c, const Catalogue *previous) {
        int r;

        r = catalogue_check_files(c);
        if (r < 0)
                return r;
        return catalogue_index(c, previous);
}

/* The common second half of a build or an update: the candidates found become entries, then everything that
 * follows from them. Frees the scan and the directories; r is how finding candidates went. */
static int catalogue_complete(Catalogue *c, Dirs *d, Scan *s, int r, const Catalogue *previous,
                              char * const *changed, bool recheck_files) {
        if (r >= 0) {
                Merge g = { .scan = s };

                if (changed) {
                        g.old = previous->entries;
                        g.n_old = previous->n_entries;
                        g.left = previous->left_out;
                        g.n_left = previous->n_left_out;
                        g.changed = changed;
                        g.n_changed = strv_length(changed);     /* once: a storm has many */
                }
                if (s->n > 0)
                        qsort(s->items, s->n, sizeof(Candidate), candidate_compare);
                r = catalogue_fill(c, d, &g, previous, recheck_files);
        }
        scan_done(s);
        dirs_done(d);
        return r < 0 ? r : catalogue_finish(c, previous);
}

int catalogue_build_seeded(char * const *dirs, const char *root, const Catalogue *previous, ImageCache *images,
                           size_t max_entries, Catalogue **ret) {
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        Dirs d = {};
        Scan s = {};
        int r;

        r = catalogue_new(dirs, root, previous, images, &c);
        if (r < 0)
                return r;
        if (max_entries > 0)
                c->max_entries = max_entries < CATALOGUE_ENTRIES_MAX ? max_entries : CATALOGUE_ENTRIES_MAX;
        r = dirs_open(c, &d);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < d.n && r >= 0; i++)
                r = scan_directory(c, &s, &d, i, false);
        r = catalogue_complete(c, &d, &s, r, previous, NULL, false);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

int catalogue_build_capped(char * const *dirs, const char *root, const Catalogue *previous, size_t max_entries,
                           Catalogue **ret) {
        return catalogue_build_seeded(dirs, root, previous, NULL, max_entries, ret);
}

int catalogue_build(char * const *dirs, const char *root, const Catalogue *previous, Catalogue **ret) {
        return catalogue_build_capped(dirs, root, previous, 0, ret);
}

int catalogue_list_names(char * const *dirs, const char *root, char ***ret) {
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        _cleanup_(strv_freep) char **names = NULL;
        size_t n = 0;
        Dirs d = {};
        Scan s = {};
        int r;

        r = catalogue_new(dirs, root, NULL, NULL, &c);  /* for dirs_open(); what it finds wrong is not kept */
        if (r < 0)
                return r;
        r = dirs_open(c, &d);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < d.n && r >= 0; i++)
                r = scan_directory(c, &s, &d, i, true);
        if (r >= 0 && s.n > 0)
                qsort(s.items, s.n, sizeof(Candidate), candidate_compare);
        for (size_t i = 0; r >= 0 && i < s.n; i += group_length(&s, i))
                r = strv_push_bounded(&names, &n, s.n, s.items[i].name);
        scan_done(&s);
        dirs_done(&d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(names);
        return 0;
}

/* Takes over the previous build's problems with names, except those about a name in changed (sorted). */
static int keep_name_problems(Catalogue *c, const Catalogue *previous, char * const *changed, const Dirs *d) {
        STRV_FOREACH(p, previous->dir_problems) {
                bool again = false;

                if (!endswith(*p, NAME_PROBLEM_SUFFIX))
                        continue;       /* about a directory: dirs_open() said what is wrong now */
                STRV_FOREACH(n, changed) {
                        if (utf8_is_valid(*n))
                                continue;
                        for (size_t i = 0; i < d->n && !again; i++) {
                                _cleanup_(freep) char *q = name_problem(d->paths[i], *n);
                                if (!q)
                                        return -ENOMEM;
                                again = streq(q, *p);
                        }
                }
                if (!again && strv_extend(&c->dir_problems, *p) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int catalogue_update(const Catalogue *previous, char * const *changed, unsigned flags, Catalogue **ret) {
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        _cleanup_(strv_freep) char **names = NULL;
        Dirs d = {};
        Scan s = {};
        int r;

        r = catalogue_new(previous->dirs, previous->root, previous, NULL, &c);
        if (r < 0)
                return r;
        names = strv_copy(changed);
        if (!names)
                return -ENOMEM;
        qsort(names, strv_length(names), sizeof(char *), string_ptr_compare);

        /* directories are looked at again (that says what is wrong with them now); of the names a scan
         * found wrong, those not looked at again still are */
        r = dirs_open(c, &d);
        if (r < 0)
                return r;
        if (!(flags & CATALOGUE_UPDATE_NAMES))
                r = keep_name_problems(c, previous, names, &d);
        else    /* what is wrong with names now, for all of them: the later steps of a rescan keep it */
                for (unsigned i = 0; i < d.n && r >= 0; i++)
                        r = scan_directory(c, NULL, &d, i, false);
        /* where does each changed name exist now? */
        STRV_FOREACH(n, names) {
                if (catalogue_name_ignored(*n) || strchr(*n, '/') || (n > names && streq(*n, n[-1])))
                        continue;
                if (r >= 0 && !((flags & CATALOGUE_UPDATE_NAMES) && !utf8_is_valid(*n)))   /* said above */
                        r = scan_name(c, &s, &d, *n);
        }
        r = catalogue_complete(c, &d, &s, r, previous, names, flags & CATALOGUE_UPDATE_FILES);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

void entry_done(Entry *e) {
        if (e->paths)
                entry_paths_unref(e->paths);
        else {
                free(e->path);
                strv_free(e->shadowed);
        }
        descriptor_unref(e->descriptor);
        image_facts_unref(e->image.facts);
        image_facts_unref(e->vars.facts);
        *e = (Entry) {};
}

Catalogue *catalogue_free(Catalogue *c) {
        if (!c)
                return NULL;

        for (size_t i = 0; i < c->n_entries; i++)
                entry_done(&c->entries[i]);
        free(c->entries);
        catalogue_index_free(c);
        strv_free(c->dirs);
        free(c->root);
        strv_free(c->features);
        strv_free(c->dir_problems);
        strv_free(c->left_out);
        image_cache_unref(c->images);
        free(c);
        return NULL;
}

/* A referenced file changed when it came or went, or when its content did: a new inode with the same bytes
 * (a package reinstalled) or a touch is no change, a rewrite in place is one. */
static bool file_check_equal(const FileCheck *a, const FileCheck *b) {
        return a->ok == b->ok && image_facts_same_content(a->facts, b->facts);
}

static bool strv_equal(char * const *a, char * const *b) {
        for (; a && *a && b && *b; a++, b++)
                if (!streq(*a, *b))
                        return false;
        return (!a || !*a) && (!b || !*b);
}

/* Descriptors are compared by identity (an unchanged file keeps its parsed descriptor), except those that
 * only say why a file could not be read: re-reading gives a new one with the same words. */
bool descriptor_same(const Descriptor *a, const Descriptor *b) {
        if (a == b)
                return true;
        return a && b && a->unreadable && b->unreadable && streq(a->problems[0].message, b->problems[0].message);
}

static bool entry_changed(const Entry *a, const Entry *b) {
        bool same_paths = a->paths && a->paths == b->paths;     /* carried over: same path and shadowed list */

        return !(same_paths || streq(a->path, b->path)) || a->state != b->state || !descriptor_same(a->descriptor, b->descriptor) ||
               !file_id_equal(&a->id, &b->id) || !file_check_equal(&a->image, &b->image) ||
               !file_check_equal(&a->vars, &b->vars) || !(same_paths || strv_equal(a->shadowed, b->shadowed));
}

/* Appends to a strv of known capacity in O(1), unlike strv_extend(), which measures the list each time. */
static int strv_push_bounded(char ***l, size_t *n, size_t capacity, const char *s) {
        if (!*l) {
                *l = calloc(capacity + 1, sizeof(char *));
                if (!*l)
                        return -ENOMEM;
        }
        assert(*n < capacity);
        (*l)[*n] = strdup(s);
        if (!(*l)[*n])
                return -ENOMEM;
        (*n)++;
        return 0;
}

int catalogue_diff(const Catalogue *old, const Catalogue *new, char ***ret_added, char ***ret_removed,
                   char ***ret_modified) {
        _cleanup_(strv_freep) char **added = NULL, **removed = NULL, **modified = NULL;
        size_t i = 0, j = 0, n_old = old ? old->n_entries : 0, n_new = new ? new->n_entries : 0;
        size_t n_added = 0, n_removed = 0, n_modified = 0;
        int r = 0;

        /* both are sorted by name: one merge pass, O(old + new) */
        while (r >= 0 && (i < n_old || j < n_new)) {
                const Entry *a = i < n_old ? &old->entries[i] : NULL, *b = j < n_new ? &new->entries[j] : NULL;
                /* an entry carried over shares its name with its predecessor */
                int c = !a ? 1 : !b ? -1 : a->paths && a->paths == b->paths ? 0 : strcmp(a->name, b->name);

                if (c < 0)
                        r = strv_push_bounded(&removed, &n_removed, n_old, old->entries[i++].name);
                else if (c > 0)
                        r = strv_push_bounded(&added, &n_added, n_new, new->entries[j++].name);
                else {
                        if (entry_changed(&old->entries[i], &new->entries[j]))
                                r = strv_push_bounded(&modified, &n_modified, n_new, new->entries[j].name);
                        i++, j++;
                }
        }
        if (r < 0)
                return r;
        *ret_added = TAKE_PTR(added);
        *ret_removed = TAKE_PTR(removed);
        *ret_modified = TAKE_PTR(modified);
        return 0;
}

static int entry_compare_name(const void *key, const void *e) {
        return strcmp(key, ((const Entry *) e)->name);
}

const Entry *catalogue_find(const Catalogue *c, const char *name) {
        if (!c || c->n_entries == 0)
                return NULL;
        return bsearch(name, c->entries, c->n_entries, sizeof(Entry), entry_compare_name);
}
