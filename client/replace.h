/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Writing a VM's varstore without ever leaving it half written: the new store is made as an unnamed file in
 * the same directory with the old one's owner, group and mode, filled and fsynced, and only then named (the old
 * one kept as PATH.bak), the directory fsynced last. And who holds a store open: QEMU takes an OFD lock on the
 * images it uses. It writes what it is handed; what goes into a store is convert.c's. */

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Whether a process holds a lock on the file whose stat is st (/proc/locks; an OFD lock names no process, so
 * the process with the file open and the lock in its fdinfo is looked for). Returns 1 with the holder's PID and
 * command name (when it could be found; else 0 and NULL), 0 when none does, or a negative errno. */
int lock_holder(const struct stat *st, pid_t *ret_pid, char **ret_comm);

typedef struct Replacement {
        int dir_fd;
        int fd;                         /* the new file, O_RDWR, not named yet */
        char *dir, *name;               /* where it goes */
        bool in_place;                  /* name exists and is replaced; else name must not exist */
} Replacement;

/* Opens an unnamed file in path's directory, owned and moded like st (the store it replaces) or, when st is
 * NULL, as a new file of mode 0600. Refuses (-EEXIST) when the name it would take is taken: path itself for a
 * new store, PATH.bak when backup is asked for. Returns 0, or a negative errno. */
int replacement_begin(const char *path, const struct stat *st, bool backup, Replacement *ret);

/* fsyncs the new file, then (in place) keeps the old one as PATH.bak when backup is set and renames the new
 * one over it, or (a new store) gives it its name, and fsyncs the directory. Returns 0 or a negative errno;
 * on failure nothing of the old store has changed. */
int replacement_commit(Replacement *r, bool backup);

/* Drops the new file, which was never named. */
void replacement_done(Replacement *r);
