/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Firmware objects, one per descriptor below BUS_FIRMWARE_PREFIX, and the ObjectManager over them: how a
 * name or path finds its entry, and the enumeration. The property values are bus-entry.c's. */

#include "bus.h"

/* Whether name lies below BUS_FIRMWARE_PREFIX (valid or not). */
bool bus_is_firmware_path(const char *name);

/* The entry a Describe name or Firmware object path stands for: a basename, the object path of one (valid,
 * as Describe checks first), or the path of the descriptor file that won. Returns NULL when there is none. */
const Entry *bus_find_entry(const Catalogue *c, const char *name);
