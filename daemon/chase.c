/* SPDX-License-Identifier: LGPL-2.1-or-later */

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

int chase_open(int root_fd, const char *path, int flags) {
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                /* /proc/self/fd/N style links could name anything of the host */
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        long fd;

        if (root_fd == AT_FDCWD)
                fd = openat(AT_FDCWD, path, flags | O_CLOEXEC);
        else
                fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
        if (fd < 0)
                return errno == EPERM && root_fd != AT_FDCWD ? -ENOSYS : -errno;      /* seccomp'd away */
        return (int) fd;
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
