/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Names as Describe and the Firmware objects take them: a basename or an object path, decoded by
 * bus_find_entry() against a fixed catalogue; and every basename's way into an object path and back
 * (sd_bus_path_encode/decode must give the name again), the leftover-name rule and the escaping of names for
 * messages. */

#include <assert.h>

#include "bus/bus-firmware.h"
#include "fuzz.h"

static Catalogue *catalogue;
static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(freep) char *name = NULL, *path = NULL, *back = NULL, *escaped = NULL;

        if (size > 8192)
                return 0;
        if (!catalogue) {
                char *dirs[] = { (char *) FUZZ_CATALOGUE_DIR, NULL };
                if (catalogue_build(dirs, NULL, NULL, &catalogue) < 0)
                        abort();
        }
        name = strndup((const char *) data, size);
        if (!name)
                return 0;

        /* Describe refuses empty names and invalid object paths before looking */
        if (!isempty(name) && (strncmp(name, BUS_FIRMWARE_PREFIX "/", strlen(BUS_FIRMWARE_PREFIX "/")) != 0 ||
                               sd_bus_object_path_is_valid(name))) {
                const Entry *e = bus_find_entry(catalogue, name);
                if (e)
                        sink += strlen(e->name);
        }
        sink += catalogue_name_ignored(name);
        escaped = utf8_escape_text(name);
        if (escaped)
                sink += strlen(escaped);

        /* a basename that could be in a directory: its object path decodes to itself */
        if (isempty(name) || strchr(name, '/') || !utf8_is_valid(name))
                return 0;
        if (sd_bus_path_encode(BUS_FIRMWARE_PREFIX, name, &path) < 0)
                return 0;
        assert(sd_bus_object_path_is_valid(path));
        assert(sd_bus_path_decode(path, BUS_FIRMWARE_PREFIX, &back) > 0);
        assert(streq(back, name));
        const Entry *e = bus_find_entry(catalogue, path);
        assert(e == catalogue_find(catalogue, name));
        return 0;
}
