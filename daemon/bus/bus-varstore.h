/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Manager's varstore methods, InspectVarstore(h) and ConvertVarstore(h, h, a{sv}, a{sv}): their handlers,
 * for the Manager's vtable (bus-manager.c). */

#include "bus-internal.h"

int bus_method_inspect_varstore(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_convert_varstore(sd_bus_message *msg, void *userdata, sd_bus_error *error);
