/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "bus-internal.h"
#include "bus-io.h"
#include "bus-polkit.h"
#include "util/log.h"

/* The bus went away (restarted, or it dropped us): a daemon off the bus serves nobody. Exiting with a failure
 * lets the service manager's Restart= or bus activation bring it back on the new bus. */
static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;

        log_error("Lost the connection to the %s bus, exiting.", b->user ? "session" : "system");
        return sd_event_exit(b->event, -ECONNRESET);
}

/* Runs before sd-bus's own exit source, which flushes and closes the connection: afterwards nobody could be
 * told that their Reload() will not happen. */
static int on_exit_cancel_reloads(sd_event_source *s, void *userdata) {
        bus_polkit_cancel_all(userdata);
        bus_reload_cancel_all(userdata);
        bus_io_cancel_all(userdata);
        return 0;
}

/* The name is taken: say by whom, so that nobody has to guess what "File exists" means. Returns -EEXIST. */
static int log_name_owner(Bus *b) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        _cleanup_(freep) char *cmdline = NULL;
        const char *owner = NULL;
        char **argv = NULL;
        pid_t pid = 0;

        if (sd_bus_get_name_creds(b->bus, BUS_NAME, SD_BUS_CREDS_UNIQUE_NAME | SD_BUS_CREDS_PID |
                                  SD_BUS_CREDS_CMDLINE | SD_BUS_CREDS_AUGMENT, &creds) >= 0) {
                (void) sd_bus_creds_get_unique_name(creds, &owner);
                (void) sd_bus_creds_get_pid(creds, &pid);
                if (sd_bus_creds_get_cmdline(creds, &argv) >= 0) {
                        StrBuf sb = {};
                        STRV_FOREACH(a, argv)
                                strbuf_printf(&sb, "%s%s", a == argv ? "" : " ", *a);
                        cmdline = strbuf_steal(&sb);
                }
        }
        if (pid > 0)
                return log_error_errno(EEXIST, "The bus name '%s' is owned by %s (pid %d%s%s), another instance "
                                       "is running; exiting.", BUS_NAME, strna(owner), (int) pid,
                                       cmdline ? ": " : "", strempty(cmdline));
        return log_error_errno(EEXIST, "The bus name '%s' is owned by %s, another instance is running; exiting.",
                               BUS_NAME, strna(owner));
}

/* Connects, registers the objects and attaches to the event loop: everything but taking the name. */
static int bus_start(Bus *b) {
        int r;

        r = b->user ? sd_bus_open_user_with_description(&b->bus, "fwregistryd")
                    : sd_bus_open_system_with_description(&b->bus, "fwregistryd");
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the %s bus: %m", b->user ? "session" : "system");

        r = bus_io_new(b);
        if (r >= 0)
                r = bus_manager_add(b);
        if (r >= 0)
                r = bus_firmware_add(b);
        if (r < 0)
                return r;

        /* sd-bus's synthetic local signal, never seen on the wire */
        r = sd_bus_match_signal(b->bus, NULL, NULL, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                "Disconnected", on_disconnected, b);
        if (r < 0)
                return log_error_errno(r, "Failed to watch for the bus going away: %m");

        r = sd_bus_attach_event(b->bus, b->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        r = sd_event_add_exit(b->event, &b->exit_source, on_exit_cancel_reloads, b);
        if (r >= 0)
                r = sd_event_source_set_priority(b->exit_source, SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the answers to pending Reload() calls at exit: %m");
        return 0;
}

int bus_new(sd_event *event, bool user, const BusOps *ops, void *userdata, Bus **ret) {
        _cleanup_(bus_freep) Bus *b = NULL;
        int r;

        b = calloc(1, sizeof(Bus));
        if (!b)
                return log_oom();
        b->event = sd_event_ref(event);
        b->user = user;
        b->ops = ops;
        b->userdata = userdata;

        r = bus_start(b);
        if (r < 0)
                return r;
        /* the catalogue is loaded by now: nobody who finds the name sees an empty catalogue by accident */
        r = sd_bus_request_name(b->bus, BUS_NAME, 0);
        if (r == -EEXIST)
                return log_name_owner(b);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire the bus name '%s': %m", BUS_NAME);

        *ret = TAKE_PTR(b);
        return 0;
}

Bus *bus_free(Bus *b) {
        if (!b)
                return NULL;
        bus_polkit_cancel_all(b);
        bus_reload_cancel_all(b);
        bus_io_cancel_all(b);
        sd_event_source_disable_unref(b->exit_source);
        bus_path_memo_done(&b->paths);
        template_report_cache_done(&b->templates);
        sd_bus_flush_close_unref(b->bus);
        sd_event_unref(b->event);
        free(b);
        return NULL;
}
