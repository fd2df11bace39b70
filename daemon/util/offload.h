/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Work that may block for ever (reading a caller's file on a FUSE or NFS mount that does not answer) run in a
 * thread of its own, with a deadline kept on the event loop. Work that misses it is answered as timed out
 * and abandoned: a thread stuck in the kernel cannot be cancelled, so it is detached, and it alone frees the
 * work's data if it ever returns. Threads are bounded per key (a caller) and in all, abandoned ones included;
 * beyond that, work is refused at once, never queued. It does not retry, and knows nothing of what it runs. */

#include <systemd/sd-event.h>

#include "util.h"

typedef struct Offload Offload;

/* Runs on the work's own thread (all signals blocked) with only its data: it may block. What it returns is
 * handed to OffloadDone. */
typedef int (*OffloadWork)(void *data);

/* Runs on the event loop, once for each piece of work taken: result is what the work returned, and data is
 * its data, the thread being done with it. Or result is -ETIMEDOUT (the deadline came first) or -ECANCELED
 * (the Offload is being freed), and data is NULL: the thread may still be using it. */
typedef void (*OffloadDone)(int result, void *data, void *userdata);

/* timeout_usec: the deadline of each piece of work; max_per_key, max_total: how many threads may be alive
 * for one key and in all. Returns 0 or a negative errno. */
int offload_new(sd_event *event, uint64_t timeout_usec, unsigned max_per_key, unsigned max_total,
                Offload **ret);

/* Calls done(-ECANCELED) for every piece of work not answered yet and lets its thread go. Never waits for a
 * thread. Accepts NULL, returns NULL. */
Offload *offload_free(Offload *o);
static inline void offload_freep(Offload **o) {
        offload_free(*o);
}

/* Starts work(data) in a new thread for key, and calls done(..., userdata) on the loop when it returns or at
 * the deadline. On success data is taken, and freed with free_data (which may be NULL) once both the thread
 * and done are through with it, which may be long after the Offload is gone; on failure it stays the
 * caller's. Returns 0, -EUSERS when key has max_per_key threads alive, -EAGAIN when max_total are alive,
 * -ENOMEM, or what pthread_create() returned. */
int offload_submit(Offload *o, uint64_t key, OffloadWork work, void *data, void (*free_data)(void *),
                   OffloadDone done, void *userdata);

/* The threads alive, abandoned ones included. */
unsigned offload_threads(Offload *o);

uint64_t offload_timeout_usec(const Offload *o) _pure_;
