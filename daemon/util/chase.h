/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Paths of a --root tree resolved as if the root were "/": symlinks (absolute or relative) and ".." never
 * lead out of it, so nothing of the host is read in its place. openat2() (Linux 5.6) does it; where it is
 * missing, a walk one component at a time that follows the same rules. */

#include <fcntl.h>
#include <sys/stat.h>

/* Opens root as a directory handle for the calls below. root NULL (no root): returns AT_FDCWD, and the calls
 * below work on the host's paths as usual. Returns the fd, or a negative errno. */
int chase_root_open(const char *root);
void chase_root_close(int root_fd);

/* openat() of path inside root_fd with flags (O_CLOEXEC is added). Returns the fd, or a negative errno
 * (-ELOOP for symlink loops). */
int chase_open(int root_fd, const char *path, int flags);

/* The walk chase_open() falls back on without openat2(): each component opened with O_NOFOLLOW below the last
 * directory, symlinks expanded by hand (absolute ones from the root), ".." stopping at the root. Exported for
 * the tests, which hold it to openat2()'s answers. */
int chase_open_walk(int root_fd, const char *path, int flags);

/* stat() of path inside root_fd, following symlinks inside it. Returns 0 or a negative errno. */
int chase_stat(int root_fd, const char *path, struct stat *ret);

/* readlink() of the last component of path (its directories resolved inside root_fd) into buf, NUL-terminated.
 * Returns the length or a negative errno (-EINVAL when it is no symlink). */
int chase_readlink(int root_fd, const char *path, char *buf, size_t size);
