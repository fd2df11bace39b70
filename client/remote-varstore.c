/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "remote-varstore.h"
#include "remote.h"

void conversion_done(Conversion *c) {
        free(c->firmware);
        strv_free(c->added_certificates);
        strv_free(c->dropped);
        strv_free(c->warnings);
        *c = (Conversion) {};
}

/* A firmware object's path back to its name. Returns a new string, or NULL when it is not one. */
static char *firmware_name(const char *path) {
        char *name = NULL;

        if (sd_bus_path_decode(path, FIRMWARE_PREFIX, &name) <= 0)
                return NULL;
        return name;
}

/* Reads an array of a{sv} with fn called on each member of each element; each element's index in *n. */
typedef int (*MemberFn)(sd_bus_message *m, const char *key, size_t index, void *userdata);

static int read_dict_array(sd_bus_message *m, size_t *n, MemberFn fn, void *userdata) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "a{sv}");
        if (r < 0)
                return r;
        for (*n = 0; (r = sd_bus_message_enter_container(m, 'a', "{sv}")) > 0; (*n)++) {
                while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                        const char *key;

                        r = sd_bus_message_read_basic(m, 's', &key);
                        if (r >= 0)
                                r = fn(m, key, *n, userdata);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                }
                if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
                        return r;
        }
        return r < 0 ? r : sd_bus_message_exit_container(m);
}

static int read_string(sd_bus_message *m, char **ret) {
        const char *s;
        int r = sd_bus_message_read(m, "v", "s", &s);

        if (r < 0)
                return r;
        free(*ret);
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int read_strv(sd_bus_message *m, char ***ret) {
        int r = sd_bus_message_enter_container(m, 'v', "as");

        if (r >= 0)
                r = sd_bus_message_read_strv(m, ret);
        return r < 0 ? r : sd_bus_message_exit_container(m);
}

static int grow(void **p, size_t n, size_t size) {
        void *q = reallocarray(*p, n + 1, size);

        if (!q)
                return -ENOMEM;
        memset((char *) q + n * size, 0, size);
        *p = q;
        return 0;
}

static int certificate_member(sd_bus_message *m, const char *key, size_t index, void *userdata) {
        Inspection *i = userdata;
        InspectCertificate *c;
        int r;

        if (index >= i->n_certificates) {
                r = grow((void **) &i->certificates, i->n_certificates, sizeof(InspectCertificate));
                if (r < 0)
                        return r;
                i->n_certificates++;
        }
        c = &i->certificates[index];
        if (streq(key, "database"))
                return read_string(m, &c->database);
        if (streq(key, "id"))
                return read_string(m, &c->id);
        if (streq(key, "subject"))
                return read_string(m, &c->subject);
        if (streq(key, "issuer"))
                return read_string(m, &c->issuer);
        if (streq(key, "serial"))
                return read_string(m, &c->serial);
        if (streq(key, "sha256"))
                return read_string(m, &c->sha256);
        if (streq(key, "owner"))
                return read_string(m, &c->owner);
        if (streq(key, "not-before"))
                return sd_bus_message_read(m, "v", "t", &c->not_before);
        if (streq(key, "not-after"))
                return sd_bus_message_read(m, "v", "t", &c->not_after);
        return sd_bus_message_skip(m, "v");
}

static int boot_entry_member(sd_bus_message *m, const char *key, size_t index, void *userdata) {
        Inspection *i = userdata;
        InspectBootEntry *b;
        int r;

        if (index >= i->n_boot_entries) {
                r = grow((void **) &i->boot_entries, i->n_boot_entries, sizeof(InspectBootEntry));
                if (r < 0)
                        return r;
                i->n_boot_entries++;
        }
        b = &i->boot_entries[index];
        if (streq(key, "number"))
                return sd_bus_message_read(m, "v", "q", &b->number);
        if (streq(key, "description"))
                return read_string(m, &b->description);
        if (streq(key, "active")) {
                int active;
                r = sd_bus_message_read(m, "v", "b", &active);
                b->active = active;
                return r;
        }
        if (streq(key, "device-path"))
                return read_string(m, &b->device_path);
        return sd_bus_message_skip(m, "v");
}

static int read_hashes(sd_bus_message *m, Inspection *i) {
        const char *db;
        uint32_t count;
        int r;

        r = sd_bus_message_enter_container(m, 'v', "a{su}");
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "{su}");
        while (r >= 0 && (r = sd_bus_message_read(m, "{su}", &db, &count)) > 0) {
                r = grow((void **) &i->hashes, i->n_hashes, sizeof(InspectHashes));
                if (r < 0)
                        return r;
                i->hashes[i->n_hashes].count = count;
                if (!(i->hashes[i->n_hashes++].database = strdup(db)))
                        return -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r < 0 ? r : sd_bus_message_exit_container(m);
}

static int read_boot_order(sd_bus_message *m, Inspection *i) {
        const void *p;
        size_t n;
        int r;

        r = sd_bus_message_enter_container(m, 'v', "aq");
        if (r >= 0)
                r = sd_bus_message_read_array(m, 'q', &p, &n);
        if (r < 0)
                return r;
        if (n > 0) {
                i->boot_order = malloc(n);
                if (!i->boot_order)
                        return -ENOMEM;
                memcpy(i->boot_order, p, n);
                i->n_boot_order = n / sizeof(uint16_t);
        }
        return sd_bus_message_exit_container(m);
}

static int read_variables(sd_bus_message *m, Inspection *i) {
        const char *name, *guid;
        uint32_t attributes;
        uint64_t size;
        int r;

        r = sd_bus_message_enter_container(m, 'v', "a(ssut)");
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "(ssut)");
        while (r >= 0 && (r = sd_bus_message_read(m, "(ssut)", &name, &guid, &attributes, &size)) > 0) {
                InspectVariable *v;

                r = grow((void **) &i->variables, i->n_variables, sizeof(InspectVariable));
                if (r < 0)
                        return r;
                v = &i->variables[i->n_variables++];
                *v = (InspectVariable) { .name = strdup(name), .guid = strdup(guid), .attributes = attributes,
                                         .size = size };
                if (!v->name || !v->guid)
                        return -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r < 0 ? r : sd_bus_message_exit_container(m);
}

static int read_fits(sd_bus_message *m, char ***ret) {
        _cleanup_(strv_freep) char **paths = NULL;
        int r;

        r = sd_bus_message_enter_container(m, 'v', "ao");
        if (r >= 0)
                r = sd_bus_message_read_strv(m, &paths);
        if (r < 0)
                return r;
        STRV_FOREACH(p, paths) {
                char *name = firmware_name(*p);

                r = strv_consume(ret, name ?: strdup(*p));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

static int read_report_member(sd_bus_message *m, const char *key, Inspection *i) {
        size_t n;

        if (streq(key, "format"))
                return read_string(m, &i->format);
        if (streq(key, "size"))
                return sd_bus_message_read(m, "v", "t", &i->size);
        if (streq(key, "varstore-size"))
                return sd_bus_message_read(m, "v", "t", &i->varstore_size);
        if (streq(key, "secure-boot"))
                return read_string(m, &i->secure_boot);
        if (streq(key, "certificates")) {
                int r = sd_bus_message_enter_container(m, 'v', "aa{sv}");
                if (r >= 0)
                        r = read_dict_array(m, &n, certificate_member, i);
                return r < 0 ? r : sd_bus_message_exit_container(m);
        }
        if (streq(key, "boot-entries")) {
                int r = sd_bus_message_enter_container(m, 'v', "aa{sv}");
                if (r >= 0)
                        r = read_dict_array(m, &n, boot_entry_member, i);
                return r < 0 ? r : sd_bus_message_exit_container(m);
        }
        if (streq(key, "hashes"))
                return read_hashes(m, i);
        if (streq(key, "boot-order"))
                return read_boot_order(m, i);
        if (streq(key, "variables"))
                return read_variables(m, i);
        if (streq(key, "fits"))
                return read_fits(m, &i->fits);
        if (streq(key, "warnings"))
                return read_strv(m, &i->warnings);
        if (streq(key, "problems"))
                return read_strv(m, &i->problems);
        return sd_bus_message_skip(m, "v");     /* a newer daemon's */
}

/* Certificates and boot entries with members missing still print: fill in "". */
static int fill_empty(Inspection *i) {
        char **fields[] = { &i->format, &i->secure_boot };

        for (size_t k = 0; k < ELEMENTSOF(fields); k++)
                if (!*fields[k] && !(*fields[k] = strdup("")))
                        return -ENOMEM;
        for (size_t k = 0; k < i->n_certificates; k++) {
                InspectCertificate *c = &i->certificates[k];
                char **s[] = { &c->database, &c->id, &c->subject, &c->issuer, &c->serial, &c->sha256, &c->owner };
                for (size_t f = 0; f < ELEMENTSOF(s); f++)
                        if (!*s[f] && !(*s[f] = strdup("")))
                                return -ENOMEM;
        }
        for (size_t k = 0; k < i->n_boot_entries; k++) {
                InspectBootEntry *b = &i->boot_entries[k];
                if ((!b->description && !(b->description = strdup(""))) ||
                    (!b->device_path && !(b->device_path = strdup(""))))
                        return -ENOMEM;
        }
        return 0;
}

int remote_inspect_varstore(sd_bus *bus, int fd, Inspection *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(inspection_done) Inspection i = {};
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "InspectVarstore", &error,
                               &reply, "h", fd);
        if (r < 0) {
                r = remote_print_error(&error, r);
                sd_bus_error_free(&error);
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read_basic(reply, 's', &key);
                if (r >= 0)
                        r = read_report_member(reply, key, &i);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r >= 0)
                r = fill_empty(&i);
        if (r < 0)
                return r == -ENOMEM ? r : (fprintf(stderr, "Cannot read the daemon's report: %s\n", strerror(-r)), r);
        *ret = i;
        i = (Inspection) {};
        return 0;
}

static int read_conversion_member(sd_bus_message *m, const char *key, Conversion *c) {
        if (streq(key, "carried"))
                return sd_bus_message_read(m, "v", "u", &c->carried);
        if (streq(key, "added-certificates"))
                return read_strv(m, &c->added_certificates);
        if (streq(key, "dropped"))
                return read_strv(m, &c->dropped);
        if (streq(key, "warnings"))
                return read_strv(m, &c->warnings);
        if (streq(key, "bytes-used"))
                return sd_bus_message_read(m, "v", "t", &c->bytes_used);
        if (streq(key, "bytes-free"))
                return sd_bus_message_read(m, "v", "t", &c->bytes_free);
        return sd_bus_message_skip(m, "v");
}

int remote_convert_varstore(sd_bus *bus, int source, int target, const Request *req, const char *keys,
                            Conversion *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(conversion_done) Conversion c = {};
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *path;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE,
                                           "ConvertVarstore");
        if (r >= 0)
                r = sd_bus_message_append(m, "hh", source, target);
        if (r >= 0)
                r = remote_append_request(m, req);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", keys ? 1 : 0, "keys", "s", keys);
        if (r < 0)
                return r;
        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, BUS_NAME ".Error.NoSpace"))
                        r = -ENOSPC;
                else if (sd_bus_error_has_name(&error, BUS_NAME ".Error.Timeout"))
                        r = -ETIMEDOUT;
                {
                        int k = remote_print_error(&error, r);
                        r = r == -ENOSPC || r == -ETIMEDOUT ? r : k;
                }
                sd_bus_error_free(&error);
                return r;
        }
        r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0 && !(c.firmware = firmware_name(path)))
                r = -EBADMSG;
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read_basic(reply, 's', &key);
                if (r >= 0)
                        r = read_conversion_member(reply, key, &c);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0)
                return r == -ENOMEM ? r : (fprintf(stderr, "Cannot read the daemon's report: %s\n", strerror(-r)), r);
        *ret = c;
        c = (Conversion) {};
        return 0;
}
