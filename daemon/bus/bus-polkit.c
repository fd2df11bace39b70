/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "bus-polkit.h"
#include "util/log.h"

struct PolkitQuery {
        Bus *bus;
        uid_t uid;                      /* of the caller */
        sd_bus_message *request;
        const BusPolkitAction *action;
        BusPolkitAuthorized authorized;
        sd_bus_slot *slot;
        PolkitQuery *prev, *next;
};

static PolkitQuery *polkit_query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        if (q->prev)
                q->prev->next = q->next;
        else if (q->bus->polkit_queries == q)
                q->bus->polkit_queries = q->next;
        if (q->next)
                q->next->prev = q->prev;
        q->bus->n_polkit_queries--;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        free(q);
        return NULL;
}

/* Answers the caller as polkit's reply says. Returns 0 or a negative errno. */
static int polkit_answer(PolkitQuery *q, sd_bus_message *reply) {
        const BusPolkitAction *a = q->action;
        int authorized = false, challenge = false, r;

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r >= 0 && authorized)
                return q->authorized(q->bus, q->request);
        if (r < 0)
                r = sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_ACCESS_DENIED,
                                               "Unexpected answer from polkit");
        else if (challenge && !sd_bus_message_get_allow_interactive_authorization(q->request))
                r = sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                               "%s", a->interactive);
        else
                r = sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_ACCESS_DENIED, "%s", a->denied);
        if (r >= 0)
                log_notice("%s by %s refused: not authorized.", a->method,
                           strna(sd_bus_message_get_sender(q->request)));
        return r;
}

static int polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int r;

        if (e) {
                log_warning("Authorization check for %s failed: %s", q->action->method, e->message ?: e->name);
                r = sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_ACCESS_DENIED,
                                               "Could not check authorization: %s", e->message ?: e->name);
        } else
                r = polkit_answer(q, reply);
        if (r < 0)
                log_debug_errno(r, "Failed to answer %s: %m", q->action->method);
        polkit_query_free(q);
        return 0;
}

/* Interactive checks wait for a human for minutes: one user must not be able to take every slot. */
#define POLKIT_QUERIES_MAX 4096U
#define POLKIT_QUERIES_PER_USER_MAX 16U

static unsigned polkit_queries_of(const Bus *b, uid_t uid) {
        unsigned n = 0;

        for (const PolkitQuery *q = b->polkit_queries; q; q = q->next)
                n += q->uid == uid;
        return n;
}

int bus_polkit_check(Bus *b, sd_bus_message *request, uid_t uid, const BusPolkitAction *action,
                     BusPolkitAuthorized authorized, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(freep) PolkitQuery *q = NULL;
        uint32_t flags = sd_bus_message_get_allow_interactive_authorization(request) ? 1 : 0;
        int r;

        if (b->n_polkit_queries >= POLKIT_QUERIES_MAX ||
            polkit_queries_of(b, uid) >= POLKIT_QUERIES_PER_USER_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Too many pending %s calls (at most %u per user)", action->method,
                                         POLKIT_QUERIES_PER_USER_MAX);

        r = sd_bus_message_new_method_call(b->bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s",
                                          sd_bus_message_get_sender(request), action->id, 0, flags, "");
        if (r < 0)
                return r;

        q = calloc(1, sizeof(PolkitQuery));
        if (!q)
                return -ENOMEM;
        q->bus = b;
        q->uid = uid;
        q->action = action;
        q->authorized = authorized;
        /* interactive authentication waits for a human: give it time; otherwise the bus default applies */
        r = sd_bus_call_async(b->bus, &q->slot, call, polkit_reply, q, flags ? UINT64_C(300000000) : 0);
        if (r < 0)
                return r;
        q->request = sd_bus_message_ref(request);
        q->next = b->polkit_queries;
        if (q->next)
                q->next->prev = q;
        b->polkit_queries = q;
        b->n_polkit_queries++;
        TAKE_PTR(q);
        return 1;
}

void bus_polkit_cancel_all(Bus *b) {
        while (b->polkit_queries) {
                PolkitQuery *q = b->polkit_queries;

                (void) sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_ACCESS_DENIED,
                                                  "The firmware registry is shutting down");
                polkit_query_free(q);
        }
}
