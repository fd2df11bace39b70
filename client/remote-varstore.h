/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The varstore methods of the Manager from fwregistryctl's side: InspectVarstore's report decoded into an
 * Inspection, ConvertVarstore called with the files opened here and its report decoded. */

#include <systemd/sd-bus.h>

#include "inspect.h"
#include "resolver/resolver.h"

/* What a conversion did (DESIGN section 11's report), from the daemon or from this process. */
typedef struct Conversion {
        char *firmware;                 /* the name of the firmware whose template the store now has */
        uint32_t carried;
        char **added_certificates, **dropped, **warnings;
        uint64_t bytes_used, bytes_free;
} Conversion;

void conversion_done(Conversion *c);

/* Each returns 0, or -errno with the D-Bus error printed on stderr (-ENOSPC for NoSpace, -ETIMEDOUT for
 * Timeout). */
int remote_inspect_varstore(sd_bus *bus, int fd, Inspection *ret);
int remote_convert_varstore(sd_bus *bus, int source, int target, const Request *req, const char *keys,
                            Conversion *ret);
