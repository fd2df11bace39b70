/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The manager's event classification: a sequence of watch events made from the input (directories the
 * manager watches, their ancestors and strangers; names, masks and lost-event markers) goes through
 * manager_classify_event(), with search directories, image directories and symlink targets set up as a
 * running daemon has them. Afterwards the pending names must be exactly the distinct names classified. */

#include <assert.h>
#include <stdio.h>
#include <sys/inotify.h>

#include "fuzz.h"
#include "util/log.h"
#include "service/manager.h"

static const char *const paths[] = {
        "/r/usr/share/qemu/firmware", "/r/etc/qemu/firmware", "/r/etc/qemu", "/r/etc", "/r", "/",
        "/r/fw", "/r/fw2", "/r/links", "/r/other", "/r/usr/share/qemu/firmware/sub", "",
};
static const char *const names[] = {
        "50-x.json", "60-y.json", "target.json", "qemu", "firmware", "fw", ".hidden.json", "x.dpkg-new",
        "50-x.json~", "links", "share", "usr",
};
static const uint32_t masks[] = {
        IN_CREATE, IN_DELETE, IN_MOVED_FROM, IN_MOVED_TO, IN_CLOSE_WRITE, IN_ATTRIB, IN_DELETE_SELF,
        IN_MOVE_SELF, IN_IGNORED, IN_UNMOUNT, IN_Q_OVERFLOW, 0, IN_CREATE | IN_ISDIR, IN_MODIFY,
};

static Manager *manager;

static int setup(void) {
        char *search[] = { (char *) "/usr/share/qemu/firmware", (char *) "/etc/qemu/firmware", NULL };
        int r;

        log_max_level = LOG_ERR;        /* a lost event is a notice each time */
        r = manager_new(false, "/r", search, &manager);
        if (r < 0)
                return r;
        manager->image_dirs = strv_copy((char *[]) { (char *) "/r/fw", (char *) "/r/fw2", NULL });
        manager->link_targets = strv_copy((char *[]) { (char *) "/r/links/target.json", (char *) "/r/links/b", NULL });
        manager->link_entries = strv_copy((char *[]) { (char *) "70-link.json", (char *) "71-link.json", NULL });
        manager->watched = strv_copy((char *[]) { (char *) "/r/etc", (char *) "/r/fw", NULL });
        if (!manager->image_dirs || !manager->link_targets || !manager->link_entries || !manager->watched)
                return -ENOMEM;
        return name_set_add(&manager->link_dirs, "/r/links");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        NameSet expected = {};
        char custom[64];

        if (size > 65536)
                return 0;
        if (!manager && setup() < 0)
                abort();

        for (size_t i = 0; i + 3 <= size; i += 3) {
                WatchEvent e = {
                        .path = (char *) paths[data[i] % ELEMENTSOF(paths)],
                        .mask = masks[data[i + 1] % ELEMENTSOF(masks)] | (data[i + 1] & 0x80 ? IN_ISDIR : 0),
                };
                uint8_t n = data[i + 2];

                if (data[i] >= 0xf0)
                        e.path = NULL;                          /* lost events */
                if (n < 0xc0)
                        e.name = (char *) names[n % ELEMENTSOF(names)];
                else if (n < 0xf0) {
                        snprintf(custom, sizeof(custom), "%u-gen.json", n);
                        e.name = custom;
                }                                               /* else: about the directory itself */
                if (isempty(e.path) && e.path)
                        continue;
                assert(manager_classify_event(manager, &e) >= 0);
                /* names in a search directory, not about the directory itself, are taken one by one */
                if (e.path && !(e.mask & IN_Q_OVERFLOW) && e.name && strv_contains(manager->search_dirs, e.path) &&
                    !(e.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)) &&
                    !catalogue_name_ignored(e.name))
                        assert(name_set_add(&expected, e.name) >= 0);
        }
        /* every expected name is pending, once */
        for (size_t i = 0; i < expected.n; i++)
                assert(name_set_contains(&manager->pending_names, expected.names[i]));
        _cleanup_(strv_freep) char **pending = name_set_steal(&manager->pending_names);
        for (size_t i = 0; pending && pending[i]; i++)
                for (size_t j = i + 1; pending[j]; j++)
                        assert(!streq(pending[i], pending[j]));
        name_set_done(&expected);
        manager->pending_full = manager->pending_files = false;
        strv_free(manager->watched);
        manager->watched = strv_copy((char *[]) { (char *) "/r/etc", (char *) "/r/fw", NULL });
        return 0;
}
