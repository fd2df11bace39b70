/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's cache file (DESIGN section 7): read once at start, before QEMU is asked and before the first
 * scan, its facts handed to the image cache and to the QEMU probe as hints; written again, a moment after
 * the builds and probes that changed what it would hold (and at exit), never in the way of a call. A cache
 * that is missing, refused or cannot be written costs a fresh computation and one log line, nothing more. */

#include "catalogue/image.h"
#include "catalogue/qemu.h"

typedef struct Manager Manager;
typedef struct ManagerCache ManagerCache;

/* Nothing that changed is written sooner than this: a storm of rebuilds writes the file once. */
#define MANAGER_CACHE_WRITE_DELAY_USEC (1000 * 1000ULL)

/* Where the cache lives when no --cache-dir is given: $CACHE_DIRECTORY (systemd's CacheDirectory=), else
 * $XDG_CACHE_HOME/fwregistryd or ~/.cache/fwregistryd for the user instance and /var/cache/fwregistryd for
 * the system instance. Returns 0, -ENXIO when the user instance has no home to put it in, or -ENOMEM. */
int manager_cache_default_dir(bool user, char **ret);

/* Opens m->cache_dir (made when missing; nothing when it is NULL) and reads the cache file there into
 * m->cache. A file that cannot be used is logged and left for the next write to replace. Returns 0 or
 * -ENOMEM. */
int manager_cache_open(Manager *m);

/* The image cache for the first build, seeded with the file's facts; NULL without a cache. */
ImageCache *manager_cache_images(Manager *m);

/* The file's QEMU answers, for the first probe; NULL without a cache. */
const QemuMachines *manager_cache_known(Manager *m);

/* After the first build: says (at debug level) how much came from the cache, and has the file written if
 * it was missing, refused or out of date. */
void manager_cache_loaded(Manager *m);

/* After a build or a probe: has the file written soon when what it would hold changed. */
void manager_cache_changed(Manager *m);

/* Writes the file now if a write is due (at exit). */
void manager_cache_flush(Manager *m);

ManagerCache *manager_cache_free(ManagerCache *mc);
static inline void manager_cache_freep(ManagerCache **mc) {
        manager_cache_free(*mc);
}
