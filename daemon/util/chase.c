/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <limits.h>
#include <linux/openat2.h>
#include <sys/syscall.h>

#include "chase.h"
#include "util.h"

int chase_root_open(const char *root) {
        int fd;

        if (isempty(root) || streq(root, "/"))
                return AT_FDCWD;
        fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

void chase_root_close(int root_fd) {
        if (root_fd >= 0)
                close(root_fd);
}

/* Symlinks followed on the way before giving up, as the kernel does. */
#define CHASE_LINKS_MAX 40

/* Drops the last directory of the walk (".."), never the root itself. */
static void walk_pop(int *fds, size_t *n) {
        if (*n > 1)
                close(fds[--*n]);
}

int chase_open_walk(int root_fd, const char *path, int flags) {
        int fds[PATH_MAX / 2];          /* fds[0] is the root; each next one a directory below the last */
        _cleanup_(freep) char *todo = strdup(path);
        size_t n = 1;
        unsigned links = 0;
        int r;

        if (!todo)
                return -ENOMEM;
        fds[0] = root_fd;
        for (;;) {
                char *p = todo, *name, *rest;
                struct stat st;
                int fd;

                while (*p == '/')
                        p++;
                name = p;
                rest = p + strcspn(p, "/");
                if (*rest) {
                        *rest++ = 0;
                        while (*rest == '/')
                                rest++;
                }
                if (isempty(name) || streq(name, ".") || streq(name, "..")) {
                        if (streq(name, ".."))
                                walk_pop(fds, &n);
                        if (*rest) {
                                memmove(todo, rest, strlen(rest) + 1);
                                continue;
                        }
                        /* the path ends in a directory of the walk */
                        fd = openat(fds[n - 1], ".", flags | O_CLOEXEC);
                        r = fd < 0 ? -errno : fd;
                        break;
                }
                fd = openat(fds[n - 1], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || fstat(fd, &st) < 0) {
                        r = -errno;
                        if (fd >= 0)
                                close(fd);
                        break;
                }
                if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t k = readlinkat(fds[n - 1], name, target, sizeof(target) - 1);

                        close(fd);
                        if (k < 0 || ++links > CHASE_LINKS_MAX) {
                                r = k < 0 ? -errno : -ELOOP;
                                break;
                        }
                        target[k] = 0;
                        if (target[0] == '/')   /* absolute: from the root again */
                                while (n > 1)
                                        walk_pop(fds, &n);
                        char *next = strdup_printf("%s/%s", target, rest);
                        if (!next) {
                                r = -ENOMEM;
                                break;
                        }
                        free(todo);
                        todo = next;
                        continue;
                }
                if (!*rest) {
                        close(fd);
                        fd = openat(fds[n - 1], name, flags | O_NOFOLLOW | O_CLOEXEC);
                        r = fd < 0 ? -errno : fd;
                        break;
                }
                if (!S_ISDIR(st.st_mode) || n >= ELEMENTSOF(fds)) {
                        close(fd);
                        r = S_ISDIR(st.st_mode) ? -ENAMETOOLONG : -ENOTDIR;
                        break;
                }
                fds[n++] = fd;
                memmove(todo, rest, strlen(rest) + 1);
        }
        while (n > 1)
                walk_pop(fds, &n);
        return r;
}

int chase_open(int root_fd, const char *path, int flags) {
        static bool no_openat2 = false;
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                /* /proc/self/fd/N style links could name anything of the host */
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        long fd;

        if (root_fd == AT_FDCWD)
                fd = openat(AT_FDCWD, path, flags | O_CLOEXEC);
        else if (no_openat2)
                return chase_open_walk(root_fd, path, flags);
        else
                fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
        if (fd < 0 && root_fd != AT_FDCWD && (errno == ENOSYS || errno == EPERM)) {
                /* an old kernel, a seccomp filter or valgrind: walk it ourselves, the same way */
                no_openat2 = true;
                return chase_open_walk(root_fd, path, flags);
        }
        return fd < 0 ? -errno : (int) fd;
}

int chase_stat(int root_fd, const char *path, struct stat *ret) {
        _cleanup_(closep) int fd = -1;

        if (root_fd == AT_FDCWD)
                return stat(path, ret) < 0 ? -errno : 0;
        fd = chase_open(root_fd, path, O_PATH);
        if (fd < 0)
                return fd;
        return fstat(fd, ret) < 0 ? -errno : 0;
}

int chase_readlink(int root_fd, const char *path, char *buf, size_t size) {
        _cleanup_(freep) char *dir = strdup(path);
        _cleanup_(closep) int dir_fd = -1;
        const char *name;
        char *slash;
        ssize_t n;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash) {
                *slash = 0;
                name = slash + 1;
                dir_fd = chase_open(root_fd, isempty(dir) ? "/" : dir, O_PATH | O_DIRECTORY);
                if (dir_fd < 0)
                        return dir_fd;
        } else
                name = dir;
        n = readlinkat(slash ? dir_fd : root_fd, name, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return (int) n;
}
