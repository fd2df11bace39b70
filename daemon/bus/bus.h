/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon on D-Bus: the connection, and what its owner calls to announce changes. Everything that builds
 * or reads a D-Bus message is in bus*.c; the bus decides nothing about firmware and knows its owner only
 * through the BusOps it was given. */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "catalogue/catalogue.h"
#include "catalogue/qemu.h"

#define BUS_NAME "io.github.fwregistryd.FirmwareRegistry1"
#define BUS_MANAGER_PATH "/io/github/fwregistryd/FirmwareRegistry1"
#define BUS_FIRMWARE_PREFIX BUS_MANAGER_PATH "/firmware"
#define BUS_MANAGER_INTERFACE BUS_NAME ".Manager"
#define BUS_FIRMWARE_INTERFACE BUS_NAME ".Firmware"
#define BUS_ERROR_NO_MATCH BUS_NAME ".Error.NoMatch"
#define BUS_ERROR_NO_SUCH_FIRMWARE BUS_NAME ".Error.NoSuchFirmware"
#define BUS_ERROR_TOO_LARGE BUS_NAME ".Error.TooLarge"
#define BUS_ERROR_TIMEOUT BUS_NAME ".Error.Timeout"
#define BUS_ERROR_NO_SPACE BUS_NAME ".Error.NoSpace"

/* No reply is larger than this: a quarter of the system bus's 32 MiB message limit (dbus-daemon and
 * dbus-broker drop a connection that sends more). A List or Describe that would be is refused with
 * TooLarge. */
#define BUS_REPLY_SIZE_MAX (8U * 1024U * 1024U)
/* Explain gives at most this many reasons per descriptor, then one saying how many were left out. */
#define BUS_EXPLAIN_REASONS_MAX 16U
/* Error texts (NoMatch) are cut here, saying how much was left out. */
#define BUS_ERROR_TEXT_MAX (16U * 1024U)
#define BUS_POLKIT_ACTION_RELOAD BUS_NAME ".reload"

/* What the bus asks of the state's owner (the manager), each called with the userdata given to bus_new().
 * The owner keeps the struct for as long as the bus lives. */
typedef struct BusOps {
        const Catalogue *(*catalogue)(void *userdata);          /* the current one, never NULL */
        uint64_t (*generation)(void *userdata);
        char **(*search_path)(void *userdata);                  /* most general first, without the root */
        char **(*unwatched)(void *userdata);                    /* directories polled instead, sorted */
        const QemuMachines *(*machines)(void *userdata);        /* what machine aliases stand for now */
        const char *(*instance_id)(void *userdata);             /* the same for as long as the bus lives */
        /* Reload(): watch again and start a rescan; ret_serial says which rescan's end answers the call
         * (bus_rescan_done()). Returns 0 or a negative errno. */
        int (*reload)(void *userdata, const char *why, uint64_t *ret_serial);
} BusOps;

typedef struct Bus Bus;

/* Connects to the system bus (user: the session bus), registers the objects and takes the name. Returns 0 or
 * a negative errno, logged. */
int bus_new(sd_event *event, bool user, const BusOps *ops, void *userdata, Bus **ret);

/* Answers every Reload still waiting (for polkit or for its rescan) with an error, then flushes and closes the connection.
 * Accepts NULL. Returns NULL. */
Bus *bus_free(Bus *b);
static inline void bus_freep(Bus **b) {
        bus_free(*b);
}

/* A rescan ended (error: 0, or why it failed as a negative errno): every Reload() waiting for a rescan up to
 * serial is answered. Does nothing without a bus. */
void bus_rescan_done(Bus *b, uint64_t serial, int error);

/* Announces a catalogue change: InterfacesRemoved/Added, PropertiesChanged of the modified objects and of
 * the Manager, then CatalogueChanged. Does nothing without a bus. Returns 0 or a negative errno. */
int bus_emit_changes(Bus *b, char **added, char **removed, char **modified);

/* Announces new machine aliases (PropertiesChanged of MachineAliases). Does nothing without a bus. Returns 0
 * or a negative errno. */
int bus_emit_machines_changed(Bus *b);

/* Announces a change of the directories polled (PropertiesChanged of UnwatchedDirectories). Does nothing
 * without a bus. Returns 0 or a negative errno. */
int bus_emit_unwatched_changed(Bus *b);
