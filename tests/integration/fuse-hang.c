/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A file system that hangs, for the test of callers' files: a FUSE server with one regular file, 'varstore'
 * (540 KiB, as an edk2 store), whose reads are never answered, and one, 'stat-hangs', whose attributes are
 * never given. A request the kernel has handed to the server waits for it, even through SIGKILL: like a
 * dead NFS mount. Killing the server (or aborting the connection) ends every such wait with ENOTCONN.
 *
 *     fuse-hang MOUNTPOINT -f -o allow_other      (the usual libfuse options) */

#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fuse.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VARSTORE_SIZE (540U * 1024U)

static void hang(void) {
        for (;;)
                pause();
}

static int hang_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
        memset(st, 0, sizeof(*st));
        if (strcmp(path, "/") == 0) {
                st->st_mode = S_IFDIR | 0755;
                st->st_nlink = 2;
                return 0;
        }
        if (strcmp(path, "/varstore") == 0) {
                st->st_mode = S_IFREG | 0644;
                st->st_nlink = 1;
                st->st_size = VARSTORE_SIZE;
                return 0;
        }
        if (strcmp(path, "/stat-hangs") == 0)
                hang();
        return -ENOENT;
}

static int hang_open(const char *path, struct fuse_file_info *fi) {
        if (strcmp(path, "/varstore") != 0)
                return -ENOENT;
        /* no page cache: each read is a request of its own, and an open does not wait for the pages a hung
         * read holds locked */
        fi->direct_io = 1;
        fi->keep_cache = 1;
        return 0;
}

static int hang_read(const char *path, char *buf, size_t size, off_t offset, struct fuse_file_info *fi) {
        hang();
        return -EIO;
}

static const struct fuse_operations operations = {
        .getattr = hang_getattr,
        .open = hang_open,
        .read = hang_read,
};

int main(int argc, char *argv[]) {
        return fuse_main(argc, argv, &operations, NULL);
}
