/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The commands about a VM's own variable store: nvram create makes one from the resolved firmware's template,
 * nvram inspect shows its layout and what it fits; and the varstore --nvram names, read for the request. */

#include <fcntl.h>
#include <unistd.h>

#include "launch.h"
#include "output.h"
#include "table.h"
#include "verbs.h"

/* Opens a VM's varstore for the nvram key: the daemon gets the descriptor, offline its head is read here. */
static int open_nvram(Request *r, const char *path) {
        _cleanup_(closep) int fd = -1;
        int k;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return output_fail("Cannot open '%s': %s", path, strerror(errno));
        k = varstore_read_fd(fd, &r->nvram);
        if (k == -EBADFD)
                return output_fail("'%s' is not a regular file", path);
        if (k < 0)
                return output_fail("Cannot read '%s': %s", path, strerror(-k));
        if (r->has_nvram && r->nvram_fd >= 0)
                close(r->nvram_fd);
        r->has_nvram = true;
        r->nvram_fd = TAKE_FD(fd);
        return 0;
}

/* --nvram names a VM's varstore: its layout narrows the request (the nvram key). For --output, a varstore that
 * does not exist yet (libvirt makes it from the template at the first start) is only named in the output. */
int verb_nvram_setup(Options *o) {
        if (!o->nvram)
                return 0;
        if (o->output != OUTPUT_TEXT && access(o->nvram, F_OK) < 0 && errno == ENOENT)
                return 0;
        return open_nvram(&o->request, o->nvram);
}

/* nvram create PATH: the VM's own varstore, from the template of what resolve picks for the request. */
int verb_nvram_create(const Options *o, const Catalogue *c, sd_bus *bus, const char *path) {
        _cleanup_(freep) char *absolute = NULL;
        RemoteEntry remote = {};
        uint64_t generation = 0;
        const Entry *e;
        bool reflinked;
        int r;

        r = options_absolute_path(&absolute, "nvram create", path);
        if (r < 0)
                return r;
        r = verb_resolve_entry(o, c, bus, &remote, &generation, &e);
        if (r != 1)
                return r;
        r = launch_nvram_create(e, absolute, &reflinked);
        if (r == -EEXIST)
                output_fail("'%s' exists already: nvram create never overwrites a varstore", absolute);
        else if (r < 0 && r != -EINVAL)
                output_fail("Failed to create '%s' from %s: %s", absolute, e->name, strerror(-r));
        else if (r >= 0 && o->legend)
                fprintf(stderr, "Created '%s' from %s (%s).\n", absolute, e->name, reflinked ? "reflink" : "copy");
        if (bus)
                remote_entry_done(&remote);
        return r < 0 ? -EINVAL : 0;
}
