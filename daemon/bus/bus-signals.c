/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The signals: a catalogue change as the ObjectManager and the properties see it, then CatalogueChanged; and
 * the Manager properties that change on their own (machine aliases, unwatched directories). */

#include "bus-internal.h"

static int emit_for_names(Bus *b, char **names, int (*emit)(Bus *b, const char *path)) {
        STRV_FOREACH(n, names) {
                _cleanup_(freep) char *p = bus_firmware_path(*n);
                int r;

                if (!p)
                        return -ENOMEM;
                r = emit(b, p);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int emit_removed(Bus *b, const char *path) {
        return sd_bus_emit_interfaces_removed(b->bus, path, BUS_FIRMWARE_INTERFACE, NULL);
}

static int emit_added(Bus *b, const char *path) {
        return sd_bus_emit_interfaces_added(b->bus, path, BUS_FIRMWARE_INTERFACE, NULL);
}

static int emit_modified(Bus *b, const char *path) {
        /* NULL: every property that announces changes */
        return sd_bus_emit_properties_changed_strv(b->bus, path, BUS_FIRMWARE_INTERFACE, NULL);
}

static int emit_catalogue_changed(Bus *b, char **added, char **removed, char **modified) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *signal = NULL;
        uint64_t generation = bus_generation(b);
        int r;

        r = sd_bus_message_new_signal(b->bus, &signal, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                                      "CatalogueChanged");
        if (r >= 0)
                r = sd_bus_message_append_basic(signal, 't', &generation);
        if (r >= 0)
                r = bus_append_strv(signal, added);
        if (r >= 0)
                r = bus_append_strv(signal, removed);
        if (r >= 0)
                r = bus_append_strv(signal, modified);
        if (r < 0)
                return r;
        return sd_bus_send(b->bus, signal, NULL);
}

int bus_emit_changes(Bus *b, char **added, char **removed, char **modified) {
        int r;

        if (!b)
                return 0;
        r = emit_for_names(b, removed, emit_removed);
        if (r >= 0)
                r = emit_for_names(b, added, emit_added);
        if (r >= 0)
                r = emit_for_names(b, modified, emit_modified);
        if (r >= 0)
                r = sd_bus_emit_properties_changed(b->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Generation",
                                                   "Count", "InvalidCount", "Architectures", "Features", NULL);
        if (r >= 0)
                r = emit_catalogue_changed(b, added, removed, modified);
        return r;
}

static int emit_manager_changed(Bus *b, const char *property) {
        if (!b)
                return 0;
        return sd_bus_emit_properties_changed(b->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, property, NULL);
}

int bus_emit_machines_changed(Bus *b) {
        return emit_manager_changed(b, "MachineAliases");
}

int bus_emit_unwatched_changed(Bus *b) {
        return emit_manager_changed(b, "UnwatchedDirectories");
}
