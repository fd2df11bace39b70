/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The Manager interface: Resolve, List, Describe, Explain and Reload, and the Manager properties. */

#include "bus-firmware.h"
#include "bus-io.h"
#include "bus-polkit.h"
#include "bus-request.h"
#include "bus-varstore.h"
#include "config.h"
#include "util/log.h"
#include "resolver/render.h"

/* ---- Resolve, List, Describe, Explain ------------------------------------------------------------------ */

int bus_reply_no_match(Bus *b, const Request *req, sd_bus_error *error) {
        _cleanup_(freep) char *summary = NULL;
        int r;

        r = resolver_summarize(bus_catalogue(b), req, &summary);
        if (r < 0)
                return r;
        size_t n = strlen(summary);
        if (n > BUS_ERROR_TEXT_MAX) {
                size_t cut = BUS_ERROR_TEXT_MAX;
                while (cut > 0 && (summary[cut] & 0xc0) == 0x80)        /* not inside a character */
                        cut--;
                summary[cut] = 0;
                return sd_bus_error_setf(error, BUS_ERROR_NO_MATCH, "%s ... (%zu more bytes left out)",
                                         summary, n - cut);
        }
        return sd_bus_error_set(error, BUS_ERROR_NO_MATCH, summary);
}

/* What every request is judged with besides its keys: the machine aliases in use, and consistency. */
static int request_prepare(Bus *b, Request *req, sd_bus_error *error) {
        _cleanup_(freep) char *message = NULL;
        int r;

        req->machines = b->ops->machines(b->userdata);
        r = request_check(req, &message);
        if (r == -EINVAL)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, message);
        return r;
}

/* A Resolve or Explain request: strictly decoded, and with the one key they cannot do without. */
int bus_read_resolve_request(Bus *b, sd_bus_message *msg, Request *req, int *nvram_fd, sd_bus_error *error) {
        int r;

        r = bus_read_request(msg, false, req, nvram_fd, error);
        if (r < 0)
                return r;
        if (!req->has_architecture)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Missing key 'architecture' (for example 'x86_64')");
        return request_prepare(b, req, error);
}

/* A call is answered by one of these once its request is complete: at once, or when the caller's file and
 * paths have been read off the loop (bus-io.c). */
static int answer_resolve(Bus *b, sd_bus_message *msg, Request *req, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        const Entry *e;
        int r;

        r = resolver_resolve(bus_catalogue(b), req, &e);
        if (r < 0)
                return r;
        if (r == 0)
                return bus_reply_no_match(b, req, error);

        path = bus_path_memo_get(&b->paths, e->name);
        if (!path)
                return -ENOMEM;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_append_basic(reply, 'o', path);
        if (r >= 0)
                r = bus_append_entry_dict(reply, e, bus_generation(b));
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* Reads the request, then answers now or once what it names is read. */
static int method_answer(Bus *b, sd_bus_message *msg, bool list, BusIoAnswer answer, sd_bus_error *error) {
        _cleanup_(request_done) Request req = {};
        int nvram_fd = -1, r;

        if (list) {
                r = bus_read_request(msg, true, &req, &nvram_fd, error);
                if (r >= 0)
                        r = request_prepare(b, &req, error);
        } else
                r = bus_read_resolve_request(b, msg, &req, &nvram_fd, error);
        if (r < 0)
                return r;
        if (bus_io_needed(&req, nvram_fd))
                return bus_io_start(b, msg, &req, nvram_fd, answer, error);
        return answer(b, msg, &req, error);
}

static int method_resolve(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_answer(userdata, msg, false, answer_resolve, error);
}

static int append_list_item(sd_bus_message *reply, const Entry *e, uint64_t generation) {
        int r;

        r = sd_bus_message_open_container(reply, 'r', "oa{sv}");
        if (r >= 0)
                r = bus_append_object_path(reply, e);
        if (r >= 0)
                r = bus_append_entry_dict(reply, e, generation);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

/* include-shadowed lists the files behind an entry too; they are not objects, so their path is "/". */
static int append_shadowed_item(sd_bus_message *reply, const Entry *e, const char *shadowed, uint64_t generation) {
        Entry shadow = { .path = (char *) shadowed, .name = e->name, .rank = e->rank, .state = ENTRY_SHADOWED };
        _cleanup_(descriptor_unrefp) Descriptor *d = NULL;
        _cleanup_(freep) char *why = strdup_printf("shadowed by '%s'", e->path);
        int r;

        if (!why || descriptor_new_unreadable(why, &d) < 0)
                return -ENOMEM;
        shadow.descriptor = d;
        r = sd_bus_message_open_container(reply, 'r', "oa{sv}");
        if (r >= 0)
                r = bus_append_object_path(reply, NULL);
        if (r >= 0)
                r = bus_append_entry_dict(reply, &shadow, generation);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

/* Appends one item of the result unless it is before the page or after it. Returns 1 when appended, 0 when
 * passed over, -ENOBUFS when the reply would pass the bound. */
static int list_item(sd_bus_message *reply, const Request *req, const Entry *e, const char *shadowed,
                     uint64_t generation, size_t *seen, size_t *sent, size_t *size) {
        if ((*seen)++ < req->offset || (req->limit > 0 && *sent >= req->limit))
                return 0;
        *size += bus_entry_size(e) + (shadowed ? bus_string_size(shadowed) * 2 : 0);
        if (*size > BUS_REPLY_SIZE_MAX)
                return -ENOBUFS;
        (*sent)++;
        return shadowed ? append_shadowed_item(reply, e, shadowed, generation) :
                          append_list_item(reply, e, generation);
}

typedef struct ListWalk {
        sd_bus_message *reply;
        const Request *req;
        uint64_t generation;
        size_t seen, sent, size;        /* items before and in the page, and the reply's size bound so far */
} ListWalk;

static int list_entry(const Entry *e, bool included, void *userdata) {
        ListWalk *w = userdata;
        int r = 0;

        if (included)
                r = list_item(w->reply, w->req, e, NULL, w->generation, &w->seen, &w->sent, &w->size);
        /* what a mask hides is represented by the mask (include-masked) */
        if (w->req->include_shadowed && e->state != ENTRY_MASKED)
                STRV_FOREACH(sh, e->shadowed)
                        if (r >= 0)
                                r = list_item(w->reply, w->req, e, *sh, w->generation, &w->seen, &w->sent,
                                              &w->size);
        if (r < 0)
                return r;
        /* a full page ends the walk: what follows would be matched for nothing */
        return w->req->limit > 0 && w->sent >= w->req->limit;
}

static int answer_list(Bus *b, sd_bus_message *msg, Request *req, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        ListWalk w = { .req = req, .generation = bus_generation(b), .size = 64 };
        int r;

        /* the paths, if any, were looked up once per call (bus-io.c), not once per entry */

        r = sd_bus_message_new_method_return(msg, &reply);
        w.reply = reply;
        if (r >= 0)
                r = sd_bus_message_append(reply, "t", w.generation);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(oa{sv})");
        if (r >= 0)
                r = resolver_filter(bus_catalogue(b), req, list_entry, &w);
        if (r == -ENOBUFS) {
                size_t page = w.sent > 0 ? w.sent : 1;
                _cleanup_(freep) char *how = strdup_printf(
                        "ask for pages with the List keys 'offset' and 'limit' (u), for example limit=%zu, "
                        "then offset=%zu", page, (size_t) req->offset + page);
                return how ? bus_reply_too_large(error, "List", how) : -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_answer(userdata, msg, true, answer_list, error);
}

static int method_describe(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(freep) char *json = NULL;
        Bus *b = userdata;
        const Entry *e;
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        if (isempty(name))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Empty firmware name");
        if (bus_is_firmware_path(name) && !sd_bus_object_path_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid object path '%s'", name);
        e = bus_find_entry(bus_catalogue(b), name);
        if (!e && name[0] == '/' && !bus_is_firmware_path(name))
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_FIRMWARE, "No firmware descriptor file '%s' in "
                                         "the catalogue", name);
        if (!e)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_FIRMWARE, "No firmware descriptor '%s'", name);

        json = render_describe(e, bus_scope(b), bus_generation(b));
        if (!json)
                return -ENOMEM;
        /* not with today's limits (the largest descriptor they allow renders to less than 2 MiB, see
         * test-bus.c), but the bound holds whatever those limits become */
        if (!bus_string_reply_fits(json, BUS_REPLY_SIZE_MAX)) {
                _cleanup_(freep) char *how = strdup_printf("read the descriptor file '%s' itself", e->path);
                return how ? bus_reply_too_large(error, "Describe", how) : -ENOMEM;
        }
        return sd_bus_reply_method_return(msg, "s", json);
}

/* Explain's reply, appended to as the resolver makes each verdict: what a request costs is bounded by the
 * reply, never by the catalogue times the reasons (a thousand unknown features make as many for each). */
typedef struct ExplainReply {
        sd_bus_message *reply;
        size_t size;                    /* an upper bound of the reply's size so far */
} ExplainReply;

/* Returns 0, or -ENOBUFS when the verdict would take the reply past the bound. */
static int append_verdict(Verdict *v, void *userdata) {
        ExplainReply *x = userdata;
        size_t n = verdict_reasons_total(v);   /* the resolver keeps 16 and counts the rest */
        int r;

        x->size += 64 + bus_string_size(v->entry->name);
        for (size_t j = 0; j < n && j < BUS_EXPLAIN_REASONS_MAX; j++)
                x->size += bus_string_size(v->reasons[j]);
        if (x->size > BUS_REPLY_SIZE_MAX)
                return -ENOBUFS;

        r = sd_bus_message_open_container(x->reply, 'r', "ssas");
        if (r >= 0)
                r = sd_bus_message_append(x->reply, "ss", v->entry->name, verdict_kind_to_string(v->kind));
        if (r >= 0)
                r = sd_bus_message_open_container(x->reply, 'a', "s");
        for (size_t j = 0; r >= 0 && j < n && j < BUS_EXPLAIN_REASONS_MAX; j++)
                r = sd_bus_message_append_basic(x->reply, 's', v->reasons[j]);
        if (r >= 0 && n > BUS_EXPLAIN_REASONS_MAX) {
                _cleanup_(freep) char *more = strdup_printf("%zu more left out", n - BUS_EXPLAIN_REASONS_MAX);
                r = more ? sd_bus_message_append_basic(x->reply, 's', more) : -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_close_container(x->reply);
        return r < 0 ? r : sd_bus_message_close_container(x->reply);
}

static int answer_explain(Bus *b, sd_bus_message *msg, Request *req, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const Entry *selected = NULL;
        ExplainReply x = { .size = 256 };
        int r;

        /* the path comes before the verdicts: the first match, which the walk calls selected */
        r = resolver_resolve(bus_catalogue(b), req, &selected);
        if (r >= 0)
                r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = bus_append_object_path(reply, selected);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssas)");
        if (r >= 0) {
                x.reply = reply;
                r = resolver_explain_foreach(bus_catalogue(b), req, append_verdict, &x);
        }
        if (r == -ENOBUFS) {
                /* the megabytes of the refused reply and of the request go back to the system */
                reply = sd_bus_message_unref(reply);
                request_done(req);
                memory_trim();
                return bus_reply_too_large(error, "Explain", "use List with the same keys and 'offset' and "
                                           "'limit' to see which descriptors match");
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_explain(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_answer(userdata, msg, false, answer_explain, error);
}

/* ---- Reload ------------------------------------------------------------------------------------------- */

/* Starts the rescan; the call is answered when it ends (bus_rescan_done()), so that "Reload() returned" still
 * means "rescanned", while the rescan goes in steps and other calls are answered in between. */
static int reload_and_reply(Bus *b, sd_bus_message *request) {
        _cleanup_(freep) char *why = strdup_printf("Reload() by %s", strna(sd_bus_message_get_sender(request)));
        uint64_t serial;
        int r;

        if (b->n_reloads >= BUS_RELOADS_WAITING_MAX)
                return sd_bus_reply_method_errorf(request, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                                  "Too many Reload() calls waiting for a rescan, try again later");
        r = b->ops->reload(b->userdata, why ?: "Reload()", &serial);
        if (r >= 0 && serial <= b->rescans_ended)
                r = b->rescan_error;    /* it ended already (a rescan of one step, run at once) */
        else if (r >= 0) {
                b->reloads[b->n_reloads++] = (ReloadWaiter) { sd_bus_message_ref(request), serial };
                return 1;
        }
        if (r < 0)
                return sd_bus_reply_method_errnof(request, r, "Failed to rescan: %m");
        return sd_bus_reply_method_return(request, NULL);
}

void bus_rescan_done(Bus *b, uint64_t serial, int error) {
        size_t kept = 0;

        if (!b)
                return;
        b->rescans_ended = serial;
        b->rescan_error = error < 0 ? error : 0;
        for (size_t i = 0; i < b->n_reloads; i++) {
                ReloadWaiter *w = &b->reloads[i];

                if (w->serial > serial) {
                        b->reloads[kept++] = *w;
                        continue;
                }
                if (error < 0)
                        (void) sd_bus_reply_method_errnof(w->request, error, "Failed to rescan: %m");
                else
                        (void) sd_bus_reply_method_return(w->request, NULL);
                sd_bus_message_unref(w->request);
        }
        b->n_reloads = kept;
}

void bus_reload_cancel_all(Bus *b) {
        for (size_t i = 0; i < b->n_reloads; i++) {
                (void) sd_bus_reply_method_errorf(b->reloads[i].request, SD_BUS_ERROR_FAILED,
                                                  "The firmware registry is shutting down before the rescan ended");
                sd_bus_message_unref(b->reloads[i].request);
        }
        b->n_reloads = 0;
}

static const BusPolkitAction reload_action = {
        .id = BUS_POLKIT_ACTION_RELOAD,
        .method = "Reload()",
        .denied = "Not allowed to reload the firmware catalogue",
        .interactive = "Reloading the firmware catalogue needs interactive authorization",
};

static int method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        Bus *b = userdata;
        uid_t uid;
        int r;

        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return log_debug_errno(r, "Failed to query the credentials of the Reload() caller: %m");
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return log_debug_errno(r, "Failed to get the uid of the Reload() caller: %m");
        log_info("Reload() called by %s (uid %u).", strna(sd_bus_message_get_sender(msg)), (unsigned) uid);
        if (uid == 0 || uid == geteuid())
                return reload_and_reply(b, msg);

        return bus_polkit_check(b, msg, uid, &reload_action, reload_and_reply, error);
}

/* ---- Manager properties -------------------------------------------------------------------------------- */

static int property_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append_basic(reply, 's', PACKAGE_VERSION);
}

static int property_scope(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append_basic(reply, 's', bus_scope(userdata));
}

static int property_search_path(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return bus_append_strv(reply, b->ops->search_path(b->userdata));
}

static int property_generation(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        uint64_t generation = bus_generation(userdata);
        return sd_bus_message_append_basic(reply, 't', &generation);
}

static int property_count(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Catalogue *c = bus_catalogue(userdata);
        uint32_t n = (uint32_t) (streq(property, "Count") ? c->n_valid : c->n_invalid);
        return sd_bus_message_append_basic(reply, 'u', &n);
}

static int property_architectures(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Catalogue *c = bus_catalogue(userdata);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        for (int a = 0; r >= 0 && a < _ARCH_MAX; a++)
                if (c->architecture_mask & (1U << a))
                        r = sd_bus_message_append_basic(reply, 's', architecture_to_string(a));
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_unwatched(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return bus_append_strv(reply, b->ops->unwatched(b->userdata));
}

static int property_manager_features(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return bus_append_strv(reply, bus_catalogue(b)->features);
}

/* MachineAliases: (architecture, alias, machine type, source) for every architecture. */
typedef struct AliasAppend {
        sd_bus_message *reply;
        Architecture architecture;
} AliasAppend;

static int append_alias(const char *alias, const char *machine, const char *source, void *userdata) {
        AliasAppend *x = userdata;
        return sd_bus_message_append(x->reply, "(ssss)", architecture_to_string(x->architecture), alias, machine,
                                     source);
}

static int property_machine_aliases(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ssss)");
        for (int a = 0; r >= 0 && a < _ARCH_MAX; a++)
                r = machine_aliases_foreach(b->ops->machines(b->userdata), a, append_alias,
                                            &(AliasAppend) { reply, a });
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_instance_id(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return sd_bus_message_append_basic(reply, 's', b->ops->instance_id(b->userdata));
}

/* Every method may be called by anyone (Reload checks for itself): without UNPRIVILEGED, sd-bus would refuse
 * callers without privileges on the system bus. */
static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Scope", "s", property_scope, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("SearchPath", "as", property_search_path, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Generation", "t", property_generation, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Count", "u", property_count, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("InvalidCount", "u", property_count, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Architectures", "as", property_architectures, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Features", "as", property_manager_features, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MachineAliases", "a(ssss)", property_machine_aliases, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("InstanceId", "s", property_instance_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UnwatchedDirectories", "as", property_unwatched, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Resolve",
                                SD_BUS_ARGS("a{sv}", request),
                                SD_BUS_RESULT("o", firmware, "a{sv}", result),
                                method_resolve, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("List",
                                SD_BUS_ARGS("a{sv}", filter),
                                SD_BUS_RESULT("t", generation, "a(oa{sv})", firmwares),
                                method_list, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Describe",
                                SD_BUS_ARGS("s", name),
                                SD_BUS_RESULT("s", json),
                                method_describe, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Explain",
                                SD_BUS_ARGS("a{sv}", request),
                                SD_BUS_RESULT("o", selected, "a(ssas)", verdicts),
                                method_explain, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("InspectVarstore", SD_BUS_ARGS("h", varstore), SD_BUS_RESULT("a{sv}", report),
                                bus_method_inspect_varstore, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ConvertVarstore",
                                SD_BUS_ARGS("h", source, "h", target, "a{sv}", request, "a{sv}", options),
                                SD_BUS_RESULT("o", firmware, "a{sv}", report), bus_method_convert_varstore,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("CatalogueChanged",
                                SD_BUS_ARGS("t", generation, "as", added, "as", removed, "as", modified),
                                0),
        SD_BUS_VTABLE_END
};

int bus_manager_add(Bus *b) {
        int r;

        r = sd_bus_add_object_vtable(b->bus, NULL, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, manager_vtable, b);
        if (r < 0)
                return log_error_errno(r, "Failed to register the Manager interface: %m");
        return 0;
}
