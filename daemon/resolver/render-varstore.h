/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The JSON rendering of a varstore report, for the client's 'nvram inspect --json' and 'nvram audit --json':
 * the keys of InspectVarstore (DESIGN section 10), variables as objects. It renders; it decides nothing. */

#include <yajl/yajl_gen.h>

#include "efi/varstore-report.h"

/* The report as one JSON object. fits: the names of the firmware whose template the store fits, in rank order
 * (NULL: none). Returns 0 or -ENOMEM. */
int render_varstore_report(yajl_gen g, const VarstoreReport *r, char * const *fits);

/* The same as a pretty-printed text. Returns it, or NULL on ENOMEM. */
char *render_varstore(const VarstoreReport *r, char * const *fits);
