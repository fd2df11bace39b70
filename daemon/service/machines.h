/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Keeps the daemon's machine aliases current: QEMU is asked once before the bus name is taken, then again,
 * in a thread of its own, whenever a QEMU binary changes (an upgrade), so that no bus call waits for QEMU.
 * What an alias means is the resolver's business; this only knows when to ask. */

#include <systemd/sd-event.h>

#include "catalogue/qemu.h"

typedef struct Machines Machines;

/* Called on the event loop's thread when a new answer replaced the current one. */
typedef void (*MachinesHandler)(Machines *ms, void *userdata);

/* Asks the QEMU binaries below dirs (none: the built-in table only) and watches their directories. Waits
 * for the first answer, at most timeout_usec; a binary whose path and identity known (may be NULL: an
 * earlier run's answers) has an answer for is not run. Returns 0 or a negative errno. */
int machines_new(sd_event *event, char * const *dirs, uint64_t timeout_usec, const QemuMachines *known,
                 MachinesHandler handler, void *userdata, Machines **ret);
Machines *machines_free(Machines *ms);
static inline void machines_freep(Machines **ms) {
        machines_free(*ms);
}

/* The answer in use. Never NULL once created; valid until the handler is called. */
const QemuMachines *machines_current(const Machines *ms);

/* Counts changes of machines_current(), its binaries' identities included (for a copy kept on disk). */
uint64_t machines_serial(const Machines *ms) _pure_;

/* Looks at the binaries again and, if one changed, asks again in the background. */
void machines_refresh(Machines *ms);
