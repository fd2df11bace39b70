/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Request decoding: a caller's a{sv} read strictly into a Request. It checks names, types and limits; what
 * a request means, and whether it contradicts itself, is the resolver's business. */

#include <systemd/sd-bus.h>

#include "resolver/resolver.h"

/* Decodes an a{sv} request strictly: every key known (List's include-*, offset and limit keys only when
 * list), every value of the documented type, each key once. Returns 0, or a negative errno with error set to
 * InvalidArgs naming the key or value. */
int bus_read_request(sd_bus_message *msg, bool list, Request *ret, sd_bus_error *error);
