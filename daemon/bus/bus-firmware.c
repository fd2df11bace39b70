/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "bus-firmware.h"
#include "bus-internal.h"
#include "util/log.h"

bool bus_is_firmware_path(const char *name) {
        return strncmp(name, BUS_FIRMWARE_PREFIX "/", strlen(BUS_FIRMWARE_PREFIX "/")) == 0;
}

const Entry *bus_find_entry(const Catalogue *c, const char *name) {
        _cleanup_(freep) char *decoded = NULL;
        const Entry *e;

        if (name[0] != '/')
                return catalogue_find(c, name);
        if (bus_is_firmware_path(name)) {
                if (sd_bus_path_decode(name, BUS_FIRMWARE_PREFIX, &decoded) <= 0 || isempty(decoded))
                        return NULL;
                return catalogue_find(c, decoded);
        }
        e = catalogue_find(c, strrchr(name, '/') + 1);
        return e && streq(e->path, name) ? e : NULL;
}

static int firmware_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                         sd_bus_error *error) {
        const Entry *e = bus_find_entry(bus_catalogue(userdata), path);

        if (!e)
                return 0;
        *found = (void *) e;
        return 1;
}

static int firmware_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes,
                              sd_bus_error *error) {
        _cleanup_(strv_freep) char **l = NULL;
        const Catalogue *c = bus_catalogue(userdata);

        l = calloc(c->n_entries + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_entries; i++) {
                l[i] = bus_firmware_path(c->entries[i].name);
                if (!l[i])
                        return -ENOMEM;
        }
        *nodes = TAKE_PTR(l);
        return 0;
}

static int firmware_property(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return bus_append_entry_property(reply, userdata, property);
}

/* sd-bus answers GetManagedObjects by itself, with every object's properties: past the bound that reply
 * would knock the daemon off the bus, so it is refused first (List pages through the same). */
static int on_incoming(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const Catalogue *c;
        size_t size = 64;

        if (!sd_bus_message_is_method_call(msg, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects") ||
            !streq_ptr(sd_bus_message_get_path(msg), BUS_MANAGER_PATH))
                return 0;
        c = bus_catalogue(userdata);
        if (!c)
                return 0;
        for (size_t i = 0; i < c->n_entries && size <= BUS_REPLY_SIZE_MAX; i++)
                size += bus_entry_size(&c->entries[i]) + 512;   /* and the Properties interfaces */
        if (size <= BUS_REPLY_SIZE_MAX)
                return 0;
        (void) sd_bus_reply_method_errorf(msg, BUS_ERROR_TOO_LARGE, "The reply to GetManagedObjects would be "
                                          "larger than %u MiB, the most this service sends in one message; "
                                          "page through the catalogue with List and the keys 'offset' and "
                                          "'limit' (u)", BUS_REPLY_SIZE_MAX >> 20);
        return 1;
}

#define FIRMWARE_PROPERTY(name, sig, flags) SD_BUS_PROPERTY(name, sig, firmware_property, 0, flags)
#define CHANGES SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

static const sd_bus_vtable firmware_vtable[] = {
        SD_BUS_VTABLE_START(0),
        FIRMWARE_PROPERTY("Name", "s", SD_BUS_VTABLE_PROPERTY_CONST),
        FIRMWARE_PROPERTY("Path", "s", CHANGES),
        /* a rank moves whenever a file sorting before it comes or goes: that is not announced per object */
        FIRMWARE_PROPERTY("Rank", "u", 0),
        FIRMWARE_PROPERTY("Description", "s", CHANGES),
        FIRMWARE_PROPERTY("InterfaceTypes", "as", CHANGES),
        FIRMWARE_PROPERTY("Device", "s", CHANGES),
        FIRMWARE_PROPERTY("Mode", "s", CHANGES),
        FIRMWARE_PROPERTY("Executable", "s", CHANGES),
        FIRMWARE_PROPERTY("ExecutableFormat", "s", CHANGES),
        FIRMWARE_PROPERTY("NvramTemplate", "s", CHANGES),
        FIRMWARE_PROPERTY("NvramTemplateFormat", "s", CHANGES),
        FIRMWARE_PROPERTY("UefiVarsTemplate", "s", CHANGES),
        FIRMWARE_PROPERTY("Features", "as", CHANGES),
        FIRMWARE_PROPERTY("RequiresSmm", "b", CHANGES),
        FIRMWARE_PROPERTY("Targets", "a(sas)", CHANGES),
        FIRMWARE_PROPERTY("Tags", "as", CHANGES),
        FIRMWARE_PROPERTY("Valid", "b", CHANGES),
        FIRMWARE_PROPERTY("Problems", "as", CHANGES),
        FIRMWARE_PROPERTY("FilesOk", "b", CHANGES),
        FIRMWARE_PROPERTY("Masked", "b", CHANGES),
        FIRMWARE_PROPERTY("ShadowedPaths", "as", CHANGES),
        FIRMWARE_PROPERTY("State", "s", CHANGES),
        FIRMWARE_PROPERTY("ExecutableSize", "t", CHANGES),
        FIRMWARE_PROPERTY("NvramTemplateSize", "t", CHANGES),
        FIRMWARE_PROPERTY("ExecutableSha256", "s", CHANGES),
        FIRMWARE_PROPERTY("NvramTemplateSha256", "s", CHANGES),
        FIRMWARE_PROPERTY("VarstoreFormat", "s", CHANGES),
        FIRMWARE_PROPERTY("VarstoreSize", "t", CHANGES),
        FIRMWARE_PROPERTY("NvramTemplateSecureBoot", "s", CHANGES),
        FIRMWARE_PROPERTY("NvramTemplateCertificates", "as", CHANGES),
        SD_BUS_VTABLE_END
};

int bus_firmware_add(Bus *b) {
        int r;

        r = sd_bus_add_fallback_vtable(b->bus, NULL, BUS_FIRMWARE_PREFIX, BUS_FIRMWARE_INTERFACE, firmware_vtable,
                                       firmware_find, b);
        if (r < 0)
                return log_error_errno(r, "Failed to register the Firmware interface: %m");
        r = sd_bus_add_node_enumerator(b->bus, NULL, BUS_FIRMWARE_PREFIX, firmware_enumerate, b);
        if (r < 0)
                return log_error_errno(r, "Failed to register the firmware object enumerator: %m");
        r = sd_bus_add_object_manager(b->bus, NULL, BUS_MANAGER_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to register the object manager: %m");
        r = sd_bus_add_filter(b->bus, NULL, on_incoming, b);
        if (r < 0)
                return log_error_errno(r, "Failed to install the bus filter: %m");
        return 0;
}
