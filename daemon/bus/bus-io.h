/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Calls that need a caller's file or path: the varstore of key 'nvram' read through its descriptor, and the
 * paths of 'executable' and 'nvram-template' looked up, off the event loop (util/offload) with a deadline.
 * The call is answered when the reading ends, with Timeout at the deadline, or at once with LimitsExceeded
 * when too many of this user's (or everyone's) files are being read. It never opens a caller's path. */

#include "bus-internal.h"
#include "resolver/resolver.h"
#include "util/offload.h"

/* How long a caller's file or path may take: past it the call gets Timeout (the file is on a file system
 * that does not answer), and other callers never wait for it. $FWREGISTRYD_TEST_IO_TIMEOUT_MSEC sets
 * another, for the test suite. */
#define BUS_IO_TIMEOUT_USEC (5U * 1000U * 1000U)
/* Threads reading callers' files, abandoned ones (stuck in the kernel) included: per user, and in all. */
#define BUS_IO_PER_USER_MAX 8U
#define BUS_IO_MAX 64U

/* Answers the call once req is complete (its nvram layout and paths set): replies itself, or returns a
 * negative errno, with error set when it is a bus error, for the caller to send. */
typedef int (*BusIoAnswer)(Bus *b, sd_bus_message *msg, Request *req, sd_bus_error *error);

/* Whether the request needs the caller's file or paths read before it can be answered. */
bool bus_io_needed(const Request *req, int nvram_fd);

/* Reads what req names (nvram_fd borrowed from msg, or -1) off the loop, then calls answer on the loop with
 * req complete. Takes req (leaving it empty) in every case. Returns 1 when the call is answered later, or a
 * negative errno with error set (LimitsExceeded). */
int bus_io_start(Bus *b, sd_bus_message *msg, Request *req, int nvram_fd, BusIoAnswer answer,
                 sd_bus_error *error);

/* A call that waits for work of its own on a thread (InspectVarstore, ConvertVarstore): handed to the work's
 * OffloadDone as its userdata. */
typedef struct BusIoCall {
        Bus *bus;
        sd_bus_message *msg;
} BusIoCall;

/* Runs work(data) off the loop for msg's caller (the same limits as the reading above), and done(result, data,
 * call) on the loop when it returns or at the deadline. Takes data in every case (freed with free_data).
 * Returns 1 when the call is answered later, or a negative errno with error set (LimitsExceeded). */
int bus_io_submit(Bus *b, sd_bus_message *msg, OffloadWork work, void *data, void (*free_data)(void *),
                  OffloadDone done, sd_bus_error *error);

/* For done: Timeout (naming what did not answer) or the error of a shutdown, in error; 0 when the work ran. */
int bus_io_call_error(const BusIoCall *call, int result, const char *what, sd_bus_error *error);

/* For done: replies with error (or r) when r is negative and no reply was sent, and frees call. */
void bus_io_call_finish(BusIoCall *call, int r, sd_bus_error *error);

/* Sets up b->io. Returns 0 or a negative errno, logged. */
int bus_io_new(Bus *b);

/* Answers every call still waiting for a file with an error (at exit), without waiting for any thread. */
void bus_io_cancel_all(Bus *b);
