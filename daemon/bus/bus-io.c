/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>

#include "bus-io.h"
#include "bus-request.h"
#include "util/log.h"

/* What the thread reads, and all it touches: its own copies, since it may outlive the call, the bus and the
 * catalogue when its file system never answers. */
typedef struct IoRead {
        int nvram_fd;                   /* a duplicate of the caller's, or -1 */
        char *root, *executable, *nvram_template;
        int nvram_result;
        Varstore nvram;
        RequestPath executable_found, nvram_template_found;
} IoRead;

/* The call, waiting on the loop. */
typedef struct IoCall {
        Bus *bus;
        sd_bus_message *msg;
        Request req;
        BusIoAnswer answer;
        bool nvram;                     /* key 'nvram' was given */
        char *keys;                     /* the keys read, for the Timeout message */
} IoCall;

static void io_read_free(void *p) {
        IoRead *x = p;

        if (!x)
                return;
        if (x->nvram_fd >= 0)
                close(x->nvram_fd);
        free(x->root);
        free(x->executable);
        free(x->nvram_template);
        free(x);
}

static void io_call_free(IoCall *c) {
        if (!c)
                return;
        sd_bus_message_unref(c->msg);
        request_done(&c->req);
        free(c->keys);
        free(c);
}

/* On the thread: may block for as long as the caller's file system takes. */
static int io_read_work(void *p) {
        IoRead *x = p;

        if (x->nvram_fd >= 0) {
                x->nvram_result = varstore_read_fd(x->nvram_fd, &x->nvram);
                close(x->nvram_fd);
                x->nvram_fd = -1;
        }
        x->executable_found = request_path_find(x->root, x->executable);
        x->nvram_template_found = request_path_find(x->root, x->nvram_template);
        return 0;
}

/* Replies with what r and error say, when the answer did not reply itself. */
static void reply_error(sd_bus_message *msg, int r, sd_bus_error *error) {
        if (sd_bus_error_is_set(error))
                (void) sd_bus_reply_method_error(msg, error);
        else
                (void) sd_bus_reply_method_errno(msg, r, NULL);
}

static void io_done(int result, void *data, void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        IoCall *c = userdata;
        IoRead *x = data;
        int r;

        if (result == -ETIMEDOUT) {
                log_info("The file or paths that %s named (%s) did not answer within %.1f s, answering Timeout.",
                         strna(sd_bus_message_get_sender(c->msg)), c->keys,
                         (double) offload_timeout_usec(c->bus->io) / 1e6);
                r = sd_bus_error_setf(&error, BUS_ERROR_TIMEOUT, "The file or paths of key %s did not answer "
                                      "within %.1f s: is their file system hung?", c->keys,
                                      (double) offload_timeout_usec(c->bus->io) / 1e6);
        } else if (result == -ECANCELED)
                r = sd_bus_error_set(&error, SD_BUS_ERROR_FAILED,
                                     "The firmware registry is shutting down before the file was read");
        else {
                r = 0;
                if (c->nvram)
                        r = bus_request_set_nvram(&c->req, x->nvram_result, &x->nvram, &error);
                c->req.executable_found = x->executable_found;
                c->req.nvram_template_found = x->nvram_template_found;
                c->req.paths_looked_up = true;
                /* what aliases stand for may have changed while the file was read: the borrowed table with */
                c->req.machines = c->bus->ops->machines(c->bus->userdata);
                if (r >= 0)
                        r = c->answer(c->bus, c->msg, &c->req, &error);
        }
        if (r < 0)
                reply_error(c->msg, r, &error);
        io_call_free(c);
}

static int limits_error(int r, sd_bus_error *error) {
        if (r == -EUSERS)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED, "Too many of this user's files are "
                                         "being read (%u), some perhaps on a file system that does not answer; "
                                         "try again later", BUS_IO_PER_USER_MAX);
        if (r == -EAGAIN)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED, "Too many callers' files are being "
                                         "read (%u), some perhaps on a file system that does not answer; try "
                                         "again later", BUS_IO_MAX);
        return r;
}

bool bus_io_needed(const Request *req, int nvram_fd) {
        return nvram_fd >= 0 || req->executable || req->nvram_template;
}

/* Who the limit per user counts against: the caller's uid, or its unique name when the bus does not say. */
static uint64_t caller_key(sd_bus_message *msg) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;

        if (sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID, &creds) >= 0 &&
            sd_bus_creds_get_euid(creds, &uid) >= 0)
                return uid;
        return (UINT64_C(1) << 32) | string_hash(strempty(sd_bus_message_get_sender(msg)));
}

static char *keys_named(const Request *req, int nvram_fd) {
        StrBuf b = {};

        if (nvram_fd >= 0)
                strbuf_puts(&b, "'nvram'");
        if (req->executable)
                strbuf_printf(&b, "%s'executable'", nvram_fd >= 0 ? ", " : "");
        if (req->nvram_template)
                strbuf_printf(&b, "%s'nvram-template'", nvram_fd >= 0 || req->executable ? ", " : "");
        return strbuf_steal(&b);
}

static IoRead *io_read_new(const Bus *b, const Request *req, int nvram_fd) {
        const char *root = bus_catalogue(b)->root;
        IoRead *x = calloc(1, sizeof(IoRead));

        if (!x)
                return NULL;
        x->nvram_fd = -1;
        if ((root && !(x->root = strdup(root))) ||
            (req->executable && !(x->executable = strdup(req->executable))) ||
            (req->nvram_template && !(x->nvram_template = strdup(req->nvram_template))))
                return io_read_free(x), NULL;
        /* the thread's own copy: the message, and the caller's fd in it, may be gone before it reads */
        if (nvram_fd >= 0) {
                x->nvram_fd = fcntl(nvram_fd, F_DUPFD_CLOEXEC, 3);
                if (x->nvram_fd < 0)
                        x->nvram_result = -errno;
        }
        return x;
}

int bus_io_start(Bus *b, sd_bus_message *msg, Request *req, int nvram_fd, BusIoAnswer answer,
                 sd_bus_error *error) {
        _cleanup_(request_done) Request taken = *req;
        IoRead *x = NULL;
        IoCall *c = NULL;
        int r;

        *req = (Request) {};
        if (!b->io)
                return sd_bus_error_set(error, SD_BUS_ERROR_FAILED, "The firmware registry is shutting down");
        c = calloc(1, sizeof(IoCall));
        x = c ? io_read_new(b, &taken, nvram_fd) : NULL;
        if (!x || !(c->keys = keys_named(&taken, nvram_fd))) {
                io_read_free(x);
                io_call_free(c);
                return -ENOMEM;
        }
        c->bus = b;
        c->msg = sd_bus_message_ref(msg);
        c->answer = answer;
        c->req = taken;
        taken = (Request) {};
        c->nvram = nvram_fd >= 0;
        r = offload_submit(b->io, caller_key(msg), io_read_work, x, io_read_free, io_done, c);
        if (r >= 0)
                return 1;
        io_read_free(x);
        io_call_free(c);
        return limits_error(r, error);
}

int bus_io_submit(Bus *b, sd_bus_message *msg, OffloadWork work, void *data, void (*free_data)(void *),
                  OffloadDone done, sd_bus_error *error) {
        BusIoCall *call;
        int r;

        if (!b->io) {
                free_data(data);
                return sd_bus_error_set(error, SD_BUS_ERROR_FAILED, "The firmware registry is shutting down");
        }
        call = calloc(1, sizeof(BusIoCall));
        if (!call) {
                free_data(data);
                return -ENOMEM;
        }
        *call = (BusIoCall) { .bus = b, .msg = sd_bus_message_ref(msg) };
        r = offload_submit(b->io, caller_key(msg), work, data, free_data, done, call);
        if (r >= 0)
                return 1;
        free_data(data);
        sd_bus_message_unref(call->msg);
        free(call);
        return limits_error(r, error);
}

int bus_io_call_error(const BusIoCall *call, int result, const char *what, sd_bus_error *error) {
        double seconds = (double) offload_timeout_usec(call->bus->io) / 1e6;

        if (result == -ETIMEDOUT) {
                log_info("The file that %s handed over (%s) did not answer within %.1f s, answering Timeout.",
                         strna(sd_bus_message_get_sender(call->msg)), what, seconds);
                return sd_bus_error_setf(error, BUS_ERROR_TIMEOUT, "Reading %s did not end within %.1f s: is its "
                                         "file system hung?", what, seconds);
        }
        if (result == -ECANCELED)
                return sd_bus_error_set(error, SD_BUS_ERROR_FAILED,
                                        "The firmware registry is shutting down before the file was read");
        return 0;
}

void bus_io_call_finish(BusIoCall *call, int r, sd_bus_error *error) {
        if (r < 0)
                reply_error(call->msg, r, error);
        sd_bus_message_unref(call->msg);
        free(call);
}

int bus_io_new(Bus *b) {
        const char *e = getenv("FWREGISTRYD_TEST_IO_TIMEOUT_MSEC");
        uint64_t timeout = BUS_IO_TIMEOUT_USEC;
        int r;

        if (e) {
                char *end;
                unsigned long long ms = strtoull(e, &end, 10);

                if (*e && !*end && ms > 0 && ms <= 3600 * 1000)
                        timeout = ms * 1000;
                else
                        log_warning("Ignoring $FWREGISTRYD_TEST_IO_TIMEOUT_MSEC='%s': not a number of "
                                    "milliseconds from 1 to 3600000.", e);
        }
        r = offload_new(b->event, timeout, BUS_IO_PER_USER_MAX, BUS_IO_MAX, &b->io);
        if (r < 0)
                return log_error_errno(r, "Failed to set up reading callers' files: %m");
        return 0;
}

void bus_io_cancel_all(Bus *b) {
        b->io = offload_free(b->io);
}
