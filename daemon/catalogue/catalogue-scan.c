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
        _cleanup_(strv_freep) char **dirs = NULL;
        if (search_path) {
                int r = path_list_parse(search_path, &dirs);
                if (r < 0)
                        return r;
        } else {
                dirs = catalogue_default_dirs(user);
                if (!dirs)
                        return -ENOMEM;
        }
        STRV_FOREACH(d, dirs)
                if (strv_extend(&l, *d) < 0)
                        return -ENOMEM;
        STRV_FOREACH(d, extra_dirs)
                if ((*d)[0] != '/')
                        return -EINVAL;
        *ret = TAKE_PTR(l);
        return 0;
}

int scan_add(Scan *s, const char *name, unsigned dir_index, unsigned char type) {
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

void scan_done(Scan *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->items[i].name);
        free(s->items);
}

int candidate_compare(const void *a, const void *b) {
        const Candidate *x = a, *y = b;
        int r = strcmp(x->name, y->name);       /* compares as unsigned char: byte order */

        if (r != 0)
                return r;
        return x->dir_index < y->dir_index ? 1 : x->dir_index > y->dir_index ? -1 : 0;
}

void dirs_done(Dirs *d) {
        for (size_t i = 0; i < d->n; i++)
                if (d->fds[i] >= 0)
                        close(d->fds[i]);
        free(d->fds);
        strv_free(d->paths);
        chase_root_close(d->root_fd);
}

int dirs_open(Catalogue *c, Dirs *ret) {
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
char *name_problem(const char *dir, const char *name) {
        _cleanup_(freep) char *shown = utf8_escape_invalid(name);

        return shown ? strdup_printf("%s: file name '%s' is not valid UTF-8, skipping", dir, shown) : NULL;
}

int scan_directory(Catalogue *c, Scan *s, const Dirs *dirs, unsigned dir_index, bool keep_invalid) {
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
                if (!keep_invalid && !utf8_is_valid(de->d_name)) {
                        /* it could be neither named on the bus nor in a message: report it and go on */
                        r = strv_consume(&c->dir_problems, name_problem(dirs->paths[dir_index], de->d_name));
                        if (r < 0)
                                break;
                        continue;
                }
                if (!s)
                        continue;       /* only the names' problems were asked for */
                r = scan_add(s, de->d_name, dir_index, de->d_type);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

int scan_name(Catalogue *c, Scan *s, const Dirs *dirs, const char *name) {
        int r = 0;

        /* lstat: a dangling symlink exists too */
        for (unsigned i = 0; i < dirs->n && r >= 0; i++) {
                struct stat st;

                if (dirs->fds[i] < 0 || fstatat(dirs->fds[i], name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (utf8_is_valid(name))
                        r = scan_add(s, name, i, S_ISLNK(st.st_mode) ? DT_LNK : DT_REG);
                else
                        r = strv_consume(&c->dir_problems, name_problem(dirs->paths[i], name));
        }
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
int entry_load_at(Entry *e, const Place *place, const Catalogue *previous) {
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
