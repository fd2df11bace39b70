/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "catalogue.h"
#include "chase.h"

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

bool catalogue_name_ignored(const char *name) {
        static const char *const suffixes[] = {
                "~", ".swp", ".swo", ".tmp", ".rpmnew", ".rpmsave", ".rpmorig", ".bak",
        };
        static const char *const infixes[] = { ".dpkg-", ".ucf-" };
        size_t n = strlen(name);

        if (n == 0 || name[0] == '.')
                return true;
        if (name[0] == '#' && name[n - 1] == '#')       /* emacs autosave */
                return true;
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++)
                if (endswith(name, suffixes[i]))
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(infixes); i++)
                if (strstr(name, infixes[i]))
                        return true;
        return false;
}

char **catalogue_default_dirs(bool user) {
        _cleanup_(strv_freep) char **l = NULL;
        const char *config = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

        if (strv_extend(&l, "/usr/share/qemu/firmware") < 0 || strv_extend(&l, "/etc/qemu/firmware") < 0)
                return NULL;
        if (user) {
                char *d;

                if (!isempty(config) && config[0] == '/')
                        d = path_join(config, "qemu/firmware");
                else if (!isempty(home))
                        d = path_join(home, ".config/qemu/firmware");
                else
                        return TAKE_PTR(l);     /* no home: only the shared directories */
                if (strv_consume(&l, d) < 0)
                        return NULL;
        }
        return TAKE_PTR(l);
}

int catalogue_search_path(bool user, const char *search_path, char * const *extra_dirs, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;

        /* extra directories are the most general, so they come first */
        l = strv_copy(extra_dirs);
        if (!l)
                return -ENOMEM;
        if (search_path) {
                _cleanup_(freep) char *copy = strdup(search_path);
                char *state = NULL;

                if (!copy)
                        return -ENOMEM;
                for (char *d = strtok_r(copy, ":", &state); d; d = strtok_r(NULL, ":", &state)) {
                        if (d[0] != '/')
                                return -EINVAL;
                        if (strv_extend(&l, d) < 0)
                                return -ENOMEM;
                }
        } else {
                _cleanup_(strv_freep) char **defaults = catalogue_default_dirs(user);

                if (!defaults)
                        return -ENOMEM;
                STRV_FOREACH(d, defaults)
                        if (strv_extend(&l, *d) < 0)
                                return -ENOMEM;
        }
        STRV_FOREACH(d, extra_dirs)
                if ((*d)[0] != '/')
                        return -EINVAL;
        *ret = TAKE_PTR(l);
        return 0;
}

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

static int scan_add(Scan *s, const char *name, unsigned dir_index, unsigned char type) {
        if (s->n >= s->allocated) {
                size_t want = s->allocated ? s->allocated * 2 : 64;
                Candidate *n = realloc(s->items, want * sizeof(Candidate));
                if (!n)
                        return -ENOMEM;
                s->items = n;
                s->allocated = want;
        }
        s->items[s->n].name = strdup(name);
        if (!s->items[s->n].name)
                return -ENOMEM;
        s->items[s->n].type = type;
        s->items[s->n++].dir_index = dir_index;
        return 0;
}

static void scan_done(Scan *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->items[i].name);
        free(s->items);
}

static int candidate_compare(const void *a, const void *b) {
        const Candidate *x = a, *y = b;
        int r = strcmp(x->name, y->name);       /* compares as unsigned char: byte order */

        if (r != 0)
                return r;
        return x->dir_index < y->dir_index ? 1 : x->dir_index > y->dir_index ? -1 : 0;
}

/* The search directories of one build, opened once so that every file is reached relative to them. */
typedef struct Dirs {
        char **paths;           /* with the root prefix */
        int *fds;               /* -1 where the directory is missing or unreadable */
        size_t n;
        int root_fd;            /* everything below a root is resolved inside it; AT_FDCWD without one */
} Dirs;

static void dirs_done(Dirs *d) {
        for (size_t i = 0; i < d->n; i++)
                if (d->fds[i] >= 0)
                        close(d->fds[i]);
        free(d->fds);
        strv_free(d->paths);
        chase_root_close(d->root_fd);
}

static int dirs_open(Catalogue *c, Dirs *ret) {
        Dirs d = { .n = strv_length(c->dirs) };
        int r = 0;

        d.root_fd = chase_root_open(c->root);
        if (d.root_fd < 0 && d.root_fd != AT_FDCWD) {
                r = d.root_fd;
                d.root_fd = AT_FDCWD;
                if (r == -ENOMEM)
                        return r;
                /* no root, no directories: an empty catalogue, that says why unless nothing is there yet */
                r = r == -ENOENT ? 0 : strv_consume(&c->dir_problems, strdup_printf("%s: %s", c->root,
                                                                                    strerror(-r)));
                if (r < 0)
                        return r;
                d.n = 0;
        }

        d.paths = calloc(d.n + 1, sizeof(char *));
        d.fds = malloc(sizeof(int) * (d.n + 1));
        if (!d.paths || !d.fds) {
                free(d.paths);
                free(d.fds);
                return -ENOMEM;
        }
        for (size_t i = 0; i < d.n; i++)
                d.fds[i] = -1;
        for (size_t i = 0; i < d.n && r >= 0; i++) {
                d.paths[i] = path_prefix_root(c->root, c->dirs[i]);
                if (!d.paths[i]) {
                        r = -ENOMEM;
                        break;
                }
                d.fds[i] = chase_open(d.root_fd, d.root_fd == AT_FDCWD ? d.paths[i] : c->dirs[i],
                                      O_RDONLY | O_DIRECTORY);
                if (d.fds[i] == -ENOMEM)
                        r = -ENOMEM;
                else if (d.fds[i] < 0 && d.fds[i] != -ENOENT) /* missing is fine: nothing there (yet) */
                        r = strv_consume(&c->dir_problems, strdup_printf("%s: %s", d.paths[i], strerror(-d.fds[i])));
                if (d.fds[i] < 0)
                        d.fds[i] = -1;
        }
        if (r < 0) {
                dirs_done(&d);
                return r;
        }
        *ret = d;
        return 0;
}

/* What is said about a name that is not valid UTF-8 in a search directory. NULL on ENOMEM. */
static char *name_problem(const char *dir, const char *name) {
        _cleanup_(freep) char *shown = utf8_escape_invalid(name);

        return shown ? strdup_printf("%s: file name '%s' is not valid UTF-8, skipping", dir, shown) : NULL;
}

#define NAME_PROBLEM_SUFFIX "' is not valid UTF-8, skipping"

static int scan_directory(Catalogue *c, Scan *s, const Dirs *dirs, unsigned dir_index) {
        _cleanup_(closep) int fd = -1;
        DIR *d;
        int r = 0;

        if (dirs->fds[dir_index] < 0)
                return 0;
        /* fdopendir() takes the fd over: give it a copy so the build keeps its own */
        fd = fcntl(dirs->fds[dir_index], F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return errno == ENOMEM ? -ENOMEM : strv_consume(&c->dir_problems, strdup_printf("%s: %s",
                                                               dirs->paths[dir_index], strerror(errno)));
        d = fdopendir(fd);
        if (!d)         /* only -ENOMEM is returned (as documented): anything else is the directory's problem */
                return errno == ENOMEM ? -ENOMEM : strv_consume(&c->dir_problems, strdup_printf("%s: %s",
                                                               dirs->paths[dir_index], strerror(errno)));
        TAKE_FD(fd);
        rewinddir(d);
        for (;;) {
                struct dirent *de;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                r = strv_consume(&c->dir_problems,
                                                 strdup_printf("%s: %s", dirs->paths[dir_index], strerror(errno)));
                        break;
                }
                if (catalogue_name_ignored(de->d_name))
                        continue;
                if (!utf8_is_valid(de->d_name)) {
                        /* it could be neither named on the bus nor in a message: report it and go on */
                        r = strv_consume(&c->dir_problems, name_problem(dirs->paths[dir_index], de->d_name));
                        if (r < 0)
                                break;
                        continue;
                }
                r = scan_add(s, de->d_name, dir_index, de->d_type);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

static const char *file_type_name(mode_t m) {
        switch (m & S_IFMT) {
        case S_IFDIR: return "a directory";
        case S_IFIFO: return "a FIFO";
        case S_IFSOCK: return "a socket";
        case S_IFCHR: return "a character device";
        case S_IFBLK: return "a block device";
        default: return "not a regular file";
        }
}

static bool stat_is_dev_null(const struct stat *st) {
        return S_ISCHR(st->st_mode) && major(st->st_rdev) == 1 && minor(st->st_rdev) == 3;
}

/* Reads at most DESCRIPTOR_SIZE_MAX + 1 bytes, so a file that grows while being read is still caught. */
static int read_bounded(int fd, char **ret, size_t *ret_size) {
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0, allocated = 0;

        for (;;) {
                ssize_t n;

                if (size >= allocated) {
                        size_t want = allocated ? allocated * 2 : 4096;
                        if (want > DESCRIPTOR_SIZE_MAX + 1)
                                want = DESCRIPTOR_SIZE_MAX + 1;
                        if (want <= size)
                                break;
                        char *b = realloc(buf, want);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        allocated = want;
                }
                n = read(fd, buf + size, allocated - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

static int unreadable(Entry *e, const char *fmt, ...) _printf_(2, 3);
static int unreadable(Entry *e, const char *fmt, ...) {
        _cleanup_(freep) char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg)
                return -ENOMEM;
        e->state = ENTRY_INVALID;
        return descriptor_new_unreadable(msg, &e->descriptor);
}

/* Where a file is looked up: name below dirfd on the host, or (with a root) the path inner resolved inside
 * root_fd, so that its symlinks, absolute ones included, stay inside the root. */
typedef struct Place {
        int dirfd;
        const char *name;
        int root_fd;
        const char *inner;      /* NULL: no root */
} Place;

static int place_readlink(const Place *p, char *buf, size_t size) {
        ssize_t n;

        if (p->inner)
                return chase_readlink(p->root_fd, p->inner, buf, size);
        n = readlinkat(p->dirfd, p->name, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return (int) n;
}

static int place_open(const Place *p, int flags) {
        int fd;

        if (p->inner)
                return chase_open(p->root_fd, p->inner, flags);
        fd = openat(p->dirfd, p->name, flags | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* Opens the inode behind an O_PATH fd for reading: that inode, whatever its path names by now. */
static int fd_reopen_read(int path_fd, const Place *place) {
        char proc[64];
        int fd;

        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", path_fd);
        fd = open(proc, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd >= 0)
                return fd;
        if (errno != ENOENT || access("/proc/self/fd", F_OK) >= 0)
                return -errno;
        /* no /proc: by the path, and the caller checks what it got */
        return place_open(place, O_RDONLY | O_NONBLOCK | O_NOCTTY);
}

/* Loads the file at place into e. */
static int entry_load_at(Entry *e, const Place *place, const Catalogue *previous) {
        _cleanup_(closep) int fd = -1, path_fd = -1;
        _cleanup_(freep) char *data = NULL;
        char target[PATH_MAX];
        struct stat st;
        size_t size = 0;
        int r;

        /* inside a root, a link to /dev/null is a mask even where the root has no /dev */
        if (place->inner && place_readlink(place, target, sizeof(target)) >= 0 && streq(target, "/dev/null")) {
                e->state = ENTRY_MASKED;
                return 0;
        }
        /* a handle that opens nothing (O_PATH) looked at first: a device or FIFO is never opened at all, not
         * even one swapped in after the look, since what is read is this very inode */
        path_fd = place_open(place, O_PATH);
        r = path_fd < 0 ? path_fd : fstat(path_fd, &st) < 0 ? -errno : 0;
        if (r < 0) {
                int n;

                if (r == -ENOMEM)
                        return -ENOMEM;
                if (r == -ENOENT && (n = place_readlink(place, target, sizeof(target))) >= 0) {
                        /* a link target is any bytes: it goes into a D-Bus string, so it is shown escaped */
                        _cleanup_(freep) char *shown = utf8_escape_text(target);

                        if (!shown)
                                return -ENOMEM;
                        return unreadable(e, "dangling symlink to '%s'%s", shown,
                                          (size_t) n == sizeof(target) - 1 ? " (cut short)" : "");
                }
                return unreadable(e, "cannot access: %s", strerror(-r));
        }
        if (stat_is_dev_null(&st) || (S_ISREG(st.st_mode) && st.st_size == 0)) {
                e->state = ENTRY_MASKED;
                return 0;
        }
        if (!S_ISREG(st.st_mode))
                return unreadable(e, "%s, only regular files are read", file_type_name(st.st_mode));

        e->id = file_id_from_stat(&st);
        if (previous) {
                const Entry *p = catalogue_find(previous, e->name);

                if (p && p->descriptor && streq(p->path, e->path) && file_id_equal(&p->id, &e->id)) {
                        e->descriptor = descriptor_ref(p->descriptor);
                        e->state = p->state;
                        return 1;
                }
        }

        /* O_NONBLOCK: should it come to opening by the path, a FIFO swapped in must not hang us */
        fd = fd_reopen_read(path_fd, place);
        if (fd == -ENOMEM)
                return fd;
        if (fd < 0)
                return unreadable(e, "cannot open: %s", strerror(-fd));
        if (fstat(fd, &st) < 0)
                return unreadable(e, "cannot stat: %s", strerror(errno));
        if (!S_ISREG(st.st_mode))
                return unreadable(e, "%s, only regular files are read", file_type_name(st.st_mode));
        e->id = file_id_from_stat(&st);
        if (st.st_size == 0) {
                e->state = ENTRY_MASKED;
                return 0;
        }
        if ((uint64_t) st.st_size > DESCRIPTOR_SIZE_MAX)
                return unreadable(e, "larger than %u bytes (%jd bytes), not read", DESCRIPTOR_SIZE_MAX,
                                  (intmax_t) st.st_size);

        r = read_bounded(fd, &data, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return unreadable(e, "cannot read: %s", strerror(-r));

        r = descriptor_parse(data, size, &e->descriptor);
        if (r < 0)
                return r;
        e->state = descriptor_is_valid(e->descriptor) ? ENTRY_VALID : ENTRY_INVALID;
        return 2;
}

int catalogue_entry_load(Entry *e, const Catalogue *previous) {
        return entry_load_at(e, &(Place) { .dirfd = AT_FDCWD, .name = e->path, .root_fd = AT_FDCWD }, previous);
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
        int r = 0;

        if (cache.root_fd == -ENOMEM)
                return -ENOMEM;
        /* facts that only the cache still holds belong to files no live catalogue names */
        image_cache_prune(c->images);

        /* two paths per valid entry at most, kept under half full */
        cache.size = 16;
        while (cache.size < c->n_valid * 4)
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
        return 0;
}

/* Takes an unchanged entry over from the previous catalogue, referenced file checks included. */
static int catalogue_copy_entry(Catalogue *c, const Entry *old, bool recheck_files) {
        Entry *e = &c->entries[c->n_entries];

        *e = *old;
        if (recheck_files && e->state == ENTRY_VALID) {
                e->files_checked = false;
                e->image = (FileCheck) {};
                e->vars = (FileCheck) { .ok = true };
        } else {
                image_facts_ref(e->image.facts);
                image_facts_ref(e->vars.facts);
        }
        e->path = strdup(old->path);
        e->shadowed = NULL;
        e->descriptor = descriptor_ref(old->descriptor);
        c->n_entries++;
        if (!e->path)
                return -ENOMEM;
        e->name = e->path + (old->name - old->path);
        e->rank = (unsigned) (c->n_entries - 1);
        if (old->shadowed) {
                e->shadowed = strv_copy(old->shadowed);
                if (!e->shadowed)
                        return -ENOMEM;
        }
        catalogue_count(c, e, e->descriptor ? 1 : 0);
        return 0;
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

/* Builds the entries from sorted candidates, and (for an update) the previous entries whose names did not
 * change, in one merge by name. */
static int catalogue_fill(Catalogue *c, const Dirs *dirs, const Scan *s, const Catalogue *previous,
                          char * const *changed, bool recheck_files) {
        size_t n_max = s->n + (changed ? previous->n_entries : 0), i = 0, j = 0;
        size_t n_changed = strv_length(changed);        /* once: a storm has many */
        int r = 0;

        c->entries = calloc(n_max ?: 1, sizeof(Entry));
        if (!c->entries)
                return -ENOMEM;

        while (r >= 0 && (i < s->n || (changed && j < previous->n_entries))) {
                const Entry *old = changed && j < previous->n_entries ? &previous->entries[j] : NULL;
                int cmp = !old ? -1 : i >= s->n ? 1 : strcmp(s->items[i].name, old->name);

                if (old && cmp >= 0 && bsearch(&old->name, changed, n_changed, sizeof(char *),
                                               string_ptr_compare)) {
                        j++;            /* looked up again: its candidates, if any, stand for it */
                        continue;
                }
                if (cmp > 0) {
                        r = catalogue_copy_entry(c, old, recheck_files);
                        j++;
                        continue;
                }
                size_t n = group_length(s, i);
                r = catalogue_add_group(c, dirs, &s->items[i], n, previous);
                i += n;
        }
        return r;
}

static int catalogue_new(char * const *dirs, const char *root, const Catalogue *previous, Catalogue **ret) {
        _cleanup_(catalogue_freep) Catalogue *c = calloc(1, sizeof(Catalogue));
        int r;

        if (!c)
                return -ENOMEM;
        /* image facts outlive a catalogue: an image that did not change is never hashed again */
        if (previous && previous->images)
                c->images = image_cache_ref(previous->images);
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
        *ret = TAKE_PTR(c);
        return 0;
}

/* Everything that follows from the entries: file checks (for entries not taken over), indexes, features. */
static int catalogue_finish(Catalogue *c) {
        int r;

        r = catalogue_check_files(c);
        if (r < 0)
                return r;
        return catalogue_index(c);
}

/* The common second half of a build or an update: the candidates found become entries, then everything that
 * follows from them. Frees the scan and the directories; r is how finding candidates went. */
static int catalogue_complete(Catalogue *c, Dirs *d, Scan *s, int r, const Catalogue *previous,
                              char * const *changed, bool recheck_files) {
        if (r >= 0) {
                if (s->n > 0)
                        qsort(s->items, s->n, sizeof(Candidate), candidate_compare);
                r = catalogue_fill(c, d, s, previous, changed, recheck_files);
        }
        scan_done(s);
        dirs_done(d);
        return r < 0 ? r : catalogue_finish(c);
}

int catalogue_build(char * const *dirs, const char *root, const Catalogue *previous, Catalogue **ret) {
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        Dirs d = {};
        Scan s = {};
        int r;

        r = catalogue_new(dirs, root, previous, &c);
        if (r < 0)
                return r;
        r = dirs_open(c, &d);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < d.n && r >= 0; i++)
                r = scan_directory(c, &s, &d, i);
        r = catalogue_complete(c, &d, &s, r, previous, NULL, false);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
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

int catalogue_update(const Catalogue *previous, char * const *changed, bool recheck_files, Catalogue **ret) {
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        _cleanup_(strv_freep) char **names = NULL;
        Dirs d = {};
        Scan s = {};
        int r;

        r = catalogue_new(previous->dirs, previous->root, previous, &c);
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
        r = keep_name_problems(c, previous, names, &d);
        /* where does each changed name exist now? (lstat: a dangling symlink exists too) */
        STRV_FOREACH(n, names) {
                struct stat st;

                if (catalogue_name_ignored(*n) || strchr(*n, '/') || (n > names && streq(*n, n[-1])))
                        continue;
                for (unsigned i = 0; i < d.n && r >= 0; i++) {
                        if (d.fds[i] < 0 || fstatat(d.fds[i], *n, &st, AT_SYMLINK_NOFOLLOW) < 0)
                                continue;
                        if (utf8_is_valid(*n))
                                r = scan_add(&s, *n, i, S_ISLNK(st.st_mode) ? DT_LNK : DT_REG);
                        else
                                r = strv_consume(&c->dir_problems, name_problem(d.paths[i], *n));
                }
        }
        r = catalogue_complete(c, &d, &s, r, previous, names, recheck_files);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

void entry_done(Entry *e) {
        free(e->path);
        descriptor_unref(e->descriptor);
        strv_free(e->shadowed);
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
        return !streq(a->path, b->path) || a->state != b->state || !descriptor_same(a->descriptor, b->descriptor) ||
               !file_id_equal(&a->id, &b->id) || !file_check_equal(&a->image, &b->image) ||
               !file_check_equal(&a->vars, &b->vars) || !strv_equal(a->shadowed, b->shadowed);
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
                int c = i >= n_old ? 1 : j >= n_new ? -1 : strcmp(old->entries[i].name, new->entries[j].name);

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
