/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Directory watching with libinotifytools, the only module that includes it. libinotifytools keeps global
 * state and blocks, so it runs in one thread of its own; events are copied and handed to the sd-event loop.
 * It watches what it is told and reports what it sees: deciding what an event means is the manager's job. */

#include <systemd/sd-event.h>

#include "util/util.h"

typedef struct Watch Watch;

typedef struct WatchEvent {
        char *path;             /* the watched directory (no trailing slash); NULL: events were lost */
        char *name;             /* the entry in it the event is about, NULL for the directory itself */
        uint32_t mask;          /* IN_* bits; IN_IGNORED also when a directory could not be watched; 0 when
                                 * a directory has just started to be watched (look at it again) */
} WatchEvent;

void watch_events_free(WatchEvent *events, size_t n);

/* Called on the event loop's thread when events are waiting; fetch them with watch_take_events(). */
typedef void (*WatchHandler)(Watch *w, void *userdata);

/* Starts the watcher thread. Returns 0 or a negative errno. */
int watch_new(sd_event *event, WatchHandler handler, void *userdata, Watch **ret);
/* Stops and joins the thread. Accepts NULL, returns NULL. */
Watch *watch_free(Watch *w);
static inline void watch_freep(Watch **w) {
        watch_free(*w);
}

/* Replaces the set of watched directories. The change is made by the watcher thread; with wait, this
 * returns once the watches are in place. A directory that cannot be watched comes back as an IN_IGNORED
 * event, one that is newly watched as an event with mask 0. Returns 0 or -ENOMEM. */
int watch_set_directories(Watch *w, char * const *dirs, bool wait);

/* Takes every event collected so far, oldest first. Returns 0 or -ENOMEM. */
int watch_take_events(Watch *w, WatchEvent **ret, size_t *ret_n);

/* Messages about failures in the watcher thread (a watch limit reached, ...), taken like events. */
char **watch_take_errors(Watch *w);

/* The wanted directories that could not be watched for another reason than not being there (the kernel's
 * watch limit, say), sorted, without a trailing slash; and in *ret_dead whether there is no inotify instance
 * at all (nothing is watched then; start a new Watch to try again). A watch_set_directories() tries the
 * failed ones again. Returns NULL for none, and on ENOMEM (then with *ret_dead set). */
char **watch_failed(Watch *w, bool *ret_dead);

/* The number of directories currently watched (for tests and STATUS). */
size_t watch_count(Watch *w);
