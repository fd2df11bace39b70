/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The polkit exchange: one asynchronous CheckAuthorization for a caller's call, bounded per user, and the
 * call answered when polkit answers or when the daemon exits. What the call does once allowed is the
 * caller's, passed in. */

#include "bus-internal.h"

/* The action a call needs, and how to tell its caller when it is not allowed. */
typedef struct BusPolkitAction {
        const char *id;                 /* the polkit action */
        const char *method;             /* "Reload()", for logs and messages */
        const char *denied;             /* AccessDenied text */
        const char *interactive;        /* InteractiveAuthorizationRequired text */
} BusPolkitAction;

/* Carries out the call once polkit allowed it, answering it. Returns 0 or a negative errno. */
typedef int (*BusPolkitAuthorized)(Bus *b, sd_bus_message *call);

/* Asks polkit whether the caller (uid) may do the action, and answers call once polkit has answered: through
 * authorized() when allowed, with an error when not. Returns 1 when polkit was asked, or a negative errno
 * (with error set when too many calls are waiting). */
int bus_polkit_check(Bus *b, sd_bus_message *call, uid_t uid, const BusPolkitAction *action,
                     BusPolkitAuthorized authorized, sd_bus_error *error);

/* Answers every call still waiting for polkit with an error, before the bus goes away. */
void bus_polkit_cancel_all(Bus *b);
