/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What a QEMU binary prints when asked for its machines and its version: both parsers take the same bytes,
 * as a misbehaving binary could print anything. */

#undef NDEBUG
#include <assert.h>

#include "fuzz.h"
#include "catalogue/qemu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        MachineAlias *aliases = NULL;
        char *version = NULL;
        size_t n = 0;

        if (size > QEMU_OUTPUT_MAX)
                return 0;
        if (qemu_parse_machine_help((const char *) data, size, &aliases, &n) >= 0) {
                for (size_t i = 0; i < n; i++)
                        assert(aliases[i].alias && aliases[i].machine && utf8_is_valid(aliases[i].machine));
                machine_aliases_free(aliases, n);
        }
        if (qemu_parse_version((const char *) data, size, &version) >= 0) {
                assert(!isempty(version));
                free(version);
        }
        return 0;
}
