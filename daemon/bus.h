/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Everything that builds or reads a D-Bus message: the Manager and Firmware interfaces, request decoding,
 * the ObjectManager, signals and the polkit check for Reload. It decides nothing about firmware. */

#include "manager.h"

#define BUS_NAME "io.github.fwregistryd.FirmwareRegistry1"
#define BUS_MANAGER_PATH "/io/github/fwregistryd/FirmwareRegistry1"
#define BUS_FIRMWARE_PREFIX BUS_MANAGER_PATH "/firmware"
#define BUS_MANAGER_INTERFACE BUS_NAME ".Manager"
#define BUS_FIRMWARE_INTERFACE BUS_NAME ".Firmware"
#define BUS_ERROR_NO_MATCH BUS_NAME ".Error.NoMatch"
#define BUS_ERROR_NO_SUCH_FIRMWARE BUS_NAME ".Error.NoSuchFirmware"
#define BUS_ERROR_TOO_LARGE BUS_NAME ".Error.TooLarge"

/* No reply is larger than this: a quarter of the system bus's 32 MiB message limit (dbus-daemon and
 * dbus-broker drop a connection that sends more). A List that would be is refused with TooLarge. */
#define BUS_REPLY_SIZE_MAX (8U * 1024U * 1024U)
/* Explain gives at most this many reasons per descriptor, then one saying how many were left out. */
#define BUS_EXPLAIN_REASONS_MAX 16U
/* Error texts (NoMatch) are cut here, saying how much was left out. */
#define BUS_ERROR_TEXT_MAX (16U * 1024U)
#define BUS_POLKIT_ACTION_RELOAD BUS_NAME ".reload"

typedef struct Request Request;

/* Decodes an a{sv} request strictly: every key known (List's include-* keys only when list), every value of
 * the documented type, each key once. Returns 0, or a negative errno with error set to InvalidArgs naming the
 * key or value. */
int bus_read_request(sd_bus_message *msg, bool list, Request *ret, sd_bus_error *error);

/* The entry a Describe name or Firmware object path stands for: a basename, the object path of one (valid,
 * as Describe checks first), or the path of the descriptor file that won. Returns NULL when there is none. */
const Entry *bus_find_entry(const Catalogue *c, const char *name);

/* Connects to the system or session bus, registers the objects and takes the name. Returns 0 or -errno. */
int bus_setup(Manager *m);

/* Announces a catalogue change: InterfacesRemoved/Added, PropertiesChanged of the modified objects and of
 * the Manager, then CatalogueChanged. Returns 0 or -errno. */
int bus_emit_changes(Manager *m, char **added, char **removed, char **modified);

/* Announces new machine aliases (PropertiesChanged of MachineAliases). Returns 0 or -errno. */
int bus_emit_machines_changed(Manager *m);

/* Frees the object paths kept for Resolve. */
void bus_path_memo_done(PathMemo *memo);

/* Answers every Reload still waiting for polkit with an error, before the manager goes away. */
void bus_polkit_cancel_all(Manager *m);
