/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Inside the manager: which directories are watched or polled, and what their events mean for the next
 * rebuild (manager-watch.c). The watcher thread itself is watch.c's; nothing here rebuilds. */

#include "manager.h"

/* Recomputes what to watch from the current catalogue and tells the watcher if that changed. With wait,
 * returns once the watches are in place. Without recollect, the catalogue's entries are known to be those
 * of the last call (an update that changed nothing), so their image directories and link targets are too:
 * only which directories exist is looked at again. Returns 1 when the set changed, 0 when not, or -ENOMEM
 * (logged). */
int manager_update_watches(Manager *m, bool wait, bool recollect);

/* Takes in what the watcher could not watch: reports it, and polls while anything is left. */
void manager_check_watches(Manager *m);

/* The watcher's callback: takes its events and errors, and arms the rebuild. */
void manager_on_watch_events(Watch *w, void *userdata);

/* Arms the rebuild for what is pending, unless it is armed already (manager.c). */
void manager_arm_debounce(Manager *m);
