/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Request decoding: a caller's a{sv} read strictly into a Request. It checks names, types and limits; what
 * a request means, and whether it contradicts itself, is the resolver's business. */

#include <systemd/sd-bus.h>

#include "resolver/resolver.h"

/* Decodes an a{sv} request strictly: every key known (List's include-*, offset and limit keys only when
 * list), every value of the documented type, each key once. The varstore of key 'nvram' is not read: its
 * descriptor, borrowed from msg, goes to *ret_nvram_fd (-1 without the key), to be read off the event loop
 * and given to bus_request_set_nvram(). Returns 0, or a negative errno with error set to InvalidArgs naming
 * the key or value. */
int bus_read_request(sd_bus_message *msg, bool list, Request *ret, int *ret_nvram_fd, sd_bus_error *error);

/* What reading the 'nvram' varstore gave (varstore_read_fd()'s result and layout), into req: the layout, or
 * InvalidArgs saying why the descriptor could not be read. Returns 0, -ENOMEM, or a negative errno with error
 * set. */
int bus_request_set_nvram(Request *req, int result, const Varstore *nvram, sd_bus_error *error);
