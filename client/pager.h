/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Human output through a pager when it goes to a terminal, as systemd's tools do: $SYSTEMD_PAGER, $PAGER or
 * less with $SYSTEMD_LESS (default FRSXMK). Nothing happens when stdout is not a terminal. */

#include <stdbool.h>

/* Starts the pager and points stdout at it, when enabled and stdout is a terminal. Returns 0 or -errno. */
int pager_open(bool enabled);
/* Flushes stdout, closes it and waits for the pager; does nothing when no pager runs. */
void pager_close(void);
