/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "replace.h"
#include "util/util.h"

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

/* The process among all that has the file st open with a lock in its fdinfo. Returns 1 and its PID, or 0. */
static int find_ofd_holder(const struct stat *st, const char *lock_id, pid_t *ret) {
        _cleanup_(closedirp) DIR *proc = opendir("/proc");
        struct dirent *de;

        if (!proc)
                return -errno;
        while ((de = readdir(proc))) {
                _cleanup_(closedirp) DIR *fds = NULL;
                char path[64];
                struct dirent *f;
                char *end;
                long pid = strtol(de->d_name, &end, 10);

                if (*end || pid <= 0)
                        continue;
                snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
                fds = opendir(path);
                if (!fds)
                        continue;
                while ((f = readdir(fds))) {
                        _cleanup_(fclosep) FILE *info = NULL;
                        char line[256], target[128];
                        struct stat fst;

                        snprintf(target, sizeof(target), "%s/%s", path, f->d_name);
                        if (f->d_name[0] == '.' || stat(target, &fst) < 0 || fst.st_dev != st->st_dev ||
                            fst.st_ino != st->st_ino)
                                continue;
                        snprintf(target, sizeof(target), "/proc/%ld/fdinfo/%s", pid, f->d_name);
                        info = fopen(target, "re");
                        while (info && fgets(line, sizeof(line), info))
                                if (strncmp(line, "lock:", 5) == 0 && strstr(line, lock_id)) {
                                        *ret = (pid_t) pid;
                                        return 1;
                                }
                }
        }
        return 0;
}

static char *comm_of(pid_t pid) {
        _cleanup_(fclosep) FILE *f = NULL;
        char path[64], comm[64] = {};

        snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
        f = fopen(path, "re");
        if (!f || !fgets(comm, sizeof(comm), f))
                return NULL;
        comm[strcspn(comm, "\n")] = 0;
        return strdup(comm);
}

int lock_holder(const struct stat *st, pid_t *ret_pid, char **ret_comm) {
        _cleanup_(fclosep) FILE *f = fopen("/proc/locks", "re");
        char id[64], line[256];
        bool held = false;
        pid_t pid = 0;

        if (!f)
                return -errno;
        /* "1: OFDLCK ADVISORY  READ -1 fe:00:10960902 100 101": the device as hex major:minor, then the inode */
        snprintf(id, sizeof(id), " %02x:%02x:%" PRIu64 " ", major(st->st_dev), minor(st->st_dev),
                 (uint64_t) st->st_ino);
        while (fgets(line, sizeof(line), f)) {
                char *at = strstr(line, id);
                long p;

                if (!at || strstr(line, "->"))         /* a waiter, not a holder */
                        continue;
                held = true;
                *at = 0;
                at = strrchr(line, ' ');
                p = at ? strtol(at + 1, NULL, 10) : -1;
                if (p > 0) {
                        pid = (pid_t) p;
                        break;
                }
        }
        if (!held)
                return 0;
        if (pid == 0 && find_ofd_holder(st, id + 1, &pid) < 0)
                pid = 0;
        *ret_pid = pid;
        *ret_comm = pid > 0 ? comm_of(pid) : NULL;
        return 1;
}

void replacement_done(Replacement *r) {
        if (r->fd >= 0)
                close(r->fd);
        if (r->dir_fd >= 0)
                close(r->dir_fd);
        free(r->dir);
        free(r->name);
        *r = (Replacement) { .fd = -1, .dir_fd = -1 };
}

static int split_path(const char *path, char **ret_dir, char **ret_name) {
        _cleanup_(freep) char *a = strdup(path), *b = strdup(path);

        if (!a || !b)
                return -ENOMEM;
        *ret_dir = strdup(dirname(a));
        *ret_name = strdup(basename(b));
        if (!*ret_dir || !*ret_name) {
                free(*ret_dir);
                free(*ret_name);
                return -ENOMEM;
        }
        return 0;
}

int replacement_begin(const char *path, const struct stat *st, bool backup, Replacement *ret) {
        _cleanup_(replacement_done) Replacement r = { .fd = -1, .dir_fd = -1, .in_place = !!st };
        _cleanup_(freep) char *bak = NULL;
        int k;

        k = split_path(path, &r.dir, &r.name);
        if (k < 0)
                return k;
        r.dir_fd = open(r.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (r.dir_fd < 0)
                return -errno;
        if (!st && faccessat(r.dir_fd, r.name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return -EEXIST;
        if (st && backup) {
                bak = strdup_printf("%s.bak", r.name);
                if (!bak)
                        return -ENOMEM;
                if (faccessat(r.dir_fd, bak, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                        return -EEXIST;
        }
        r.fd = openat(r.dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, st ? (st->st_mode & 07777) : 0600);
        if (r.fd < 0)
                return -errno;
        if (st && (fchown(r.fd, st->st_uid, st->st_gid) < 0 || fchmod(r.fd, st->st_mode & 07777) < 0))
                return -errno;
        *ret = r;
        r = (Replacement) { .fd = -1, .dir_fd = -1 };
        return 0;
}

/* Names the unnamed file: linkat() through /proc, which needs no privilege, unlike AT_EMPTY_PATH. */
static int link_fd(const Replacement *r, const char *name) {
        char proc[64];

        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", r->fd);
        return linkat(AT_FDCWD, proc, r->dir_fd, name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

int replacement_commit(Replacement *r, bool backup) {
        _cleanup_(freep) char *tmp = NULL, *bak = NULL;
        int k;

        if (fsync(r->fd) < 0)
                return -errno;
        if (!r->in_place) {
                k = link_fd(r, r->name);
                if (k < 0)
                        return k;
                return fsync(r->dir_fd) < 0 ? -errno : 0;
        }
        tmp = strdup_printf(".%s.new-%d", r->name, (int) getpid());
        bak = strdup_printf("%s.bak", r->name);
        if (!tmp || !bak)
                return -ENOMEM;
        k = link_fd(r, tmp);
        if (k < 0)
                return k;
        if (backup && linkat(r->dir_fd, r->name, r->dir_fd, bak, 0) < 0) {
                k = -errno;
                (void) unlinkat(r->dir_fd, tmp, 0);
                return k;
        }
        if (renameat(r->dir_fd, tmp, r->dir_fd, r->name) < 0) {
                k = -errno;
                (void) unlinkat(r->dir_fd, tmp, 0);
                if (backup)
                        (void) unlinkat(r->dir_fd, bak, 0);
                return k;
        }
        return fsync(r->dir_fd) < 0 ? -errno : 0;
}
