/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* polkit's text agent (pkttyagent) for one privileged call made from a terminal, the way systemd's tools
 * run it: registered for this process as a fallback, and stopped after the call. It asks nothing itself. */

/* Starts the agent when stdin is a terminal and we are not root, and waits until it has registered.
 * Returns 0 (also when no agent was needed or none could be started) or -errno. */
int agent_open(void);
/* Stops the agent, if one runs. */
void agent_close(void);
