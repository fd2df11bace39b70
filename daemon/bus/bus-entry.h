/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A catalogue entry as the API shows it: the a{sv} of Resolve and List, the Firmware properties, object
 * paths, and upper bounds of their wire size for the reply bound. It formats; it chooses nothing. */

#include "bus.h"

#define PATH_MEMO_SLOTS 8U

/* Object paths of recently resolved descriptors, by name. */
typedef struct PathMemoSlot {
        char *name;
        char *path;
} PathMemoSlot;

typedef struct PathMemo {
        PathMemoSlot slots[PATH_MEMO_SLOTS];
        size_t next;
} PathMemo;

/* Appends l (NULL: empty) as "as". Returns 0 or a negative errno. */
int bus_append_strv(sd_bus_message *m, char * const *l);

/* Appends the entry's a{sv} (DESIGN section 5), "generation" after "rank". Returns 0 or a negative errno. */
int bus_append_entry_dict(sd_bus_message *m, const Entry *e, uint64_t generation);

/* Appends the value of one Firmware property (its D-Bus name) of the entry. Returns 0, -ENOENT for a name
 * that is no Firmware property, or another negative errno. */
int bus_append_entry_property(sd_bus_message *m, const Entry *e, const char *property);

/* The object path of a descriptor name. Returns NULL on ENOMEM. */
char *bus_firmware_path(const char *name);

/* Appends the entry's object path, "/" for NULL. Returns 0 or a negative errno. */
int bus_append_object_path(sd_bus_message *m, const Entry *e);

/* The object path of a name, kept among the last PATH_MEMO_SLOTS asked for. Returns NULL on ENOMEM. */
const char *bus_path_memo_get(PathMemo *memo, const char *name);

/* Frees the object paths kept. */
void bus_path_memo_done(PathMemo *memo);

/* Upper bound of the wire size of a string: length, NUL and the most padding there can be. Returns it. */
size_t bus_string_size(const char *s);

/* Upper bound of the wire size of the entry's a{sv} with its object path. Returns it. */
size_t bus_entry_size(const Entry *e);

/* Whether a reply that carries the one string s (Describe's JSON) stays within max bytes, its header included.
 * Returns true when it does. */
bool bus_string_reply_fits(const char *s, size_t max);

/* Sets error to TooLarge: the reply to what would pass BUS_REPLY_SIZE_MAX, and how says what to do instead.
 * Returns the negative errno that goes with it. */
int bus_reply_too_large(sd_bus_error *error, const char *what, const char *how);
