/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Work off the event loop: answered with its result, or at the deadline while its thread stays blocked (here
 * on a pipe nobody writes to), bounded per key and in all, and freed by the thread it outlived. */

#include <fcntl.h>
#include <stdatomic.h>

#include "tests.h"
#include "util/offload.h"

typedef struct Work {
        int fd;                 /* read one byte from it: blocks until the test writes */
        int value;
} Work;

static atomic_int n_freed;

static int work_read(void *data) {
        Work *w = data;
        char c;

        if (w->fd >= 0 && read(w->fd, &c, 1) != 1)
                return -EIO;
        return w->value;
}

static void work_free(void *data) {
        atomic_fetch_add(&n_freed, 1);
        free(data);
}

typedef struct Answer {
        int result;
        int value;              /* from the data, when it came */
        bool answered;
} Answer;

static void on_done(int result, void *data, void *userdata) {
        Answer *a = userdata;

        CHECK(!a->answered);
        a->answered = true;
        a->result = result;
        a->value = data ? ((Work *) data)->value : -1;
}

static Work *work_new(int fd, int value) {
        Work *w = malloc(sizeof(Work));

        CHECK(w);
        *w = (Work) { .fd = fd, .value = value };
        return w;
}

static void run_until(sd_event *e, const bool *answered) {
        while (!*answered)
                CHECK(sd_event_run(e, UINT64_MAX) >= 0);
}

static void test_answered_and_timed_out(sd_event *e) {
        _cleanup_(offload_freep) Offload *o = NULL;
        Answer quick = {}, stuck = {};
        int p[2];

        CHECK(pipe2(p, O_CLOEXEC) == 0);
        CHECK(offload_new(e, 200 * 1000, 2, 4, &o) == 0);
        CHECK(offload_submit(o, 1, work_read, work_new(-1, 42), work_free, on_done, &quick) == 0);
        CHECK(offload_submit(o, 1, work_read, work_new(p[0], 7), work_free, on_done, &stuck) == 0);
        run_until(e, &quick.answered);
        CHECK(quick.result == 42 && quick.value == 42);
        run_until(e, &stuck.answered);
        CHECK(stuck.result == -ETIMEDOUT && stuck.value == -1);

        /* the abandoned thread still counts for its key: key 1 has room for one more, not two */
        CHECK(offload_threads(o) == 1);
        Work *w = work_new(p[0], 0);
        Answer a2 = {}, a3 = {};
        CHECK(offload_submit(o, 1, work_read, w, work_free, on_done, &a2) == 0);
        Work *refused = work_new(-1, 0);
        CHECK(offload_submit(o, 1, work_read, refused, work_free, on_done, &a3) == -EUSERS);
        free(refused);          /* still the caller's */

        /* the blocked threads get their bytes: the abandoned one frees its data itself */
        int freed = atomic_load(&n_freed);
        CHECK(write(p[1], "xx", 2) == 2);
        run_until(e, &a2.answered);
        CHECK(a2.result == 0);
        while (offload_threads(o) > 0 || atomic_load(&n_freed) < freed + 2)
                (void) usleep(1000);
        close(p[0]);
        close(p[1]);
}

static void test_bound_in_all_and_free_while_stuck(sd_event *e) {
        Offload *o = NULL;
        Answer a[3] = {};
        int p[2];

        CHECK(pipe2(p, O_CLOEXEC) == 0);
        CHECK(offload_new(e, 60 * 1000 * 1000, 2, 2, &o) == 0);
        CHECK(offload_submit(o, 1, work_read, work_new(p[0], 1), work_free, on_done, &a[0]) == 0);
        CHECK(offload_submit(o, 2, work_read, work_new(p[0], 2), work_free, on_done, &a[1]) == 0);
        Work *refused = work_new(-1, 0);
        CHECK(offload_submit(o, 3, work_read, refused, work_free, on_done, &a[2]) == -EAGAIN);
        free(refused);

        /* freed with both threads blocked: answered as cancelled at once, nothing waited for */
        int freed = atomic_load(&n_freed);
        offload_free(o);
        CHECK(a[0].answered && a[0].result == -ECANCELED);
        CHECK(a[1].answered && a[1].result == -ECANCELED);
        CHECK(atomic_load(&n_freed) == freed);
        /* and when they return, they free their data and the rest, touching nothing of the Offload's */
        CHECK(write(p[1], "xx", 2) == 2);
        while (atomic_load(&n_freed) < freed + 2)
                (void) usleep(1000);
        close(p[0]);
        close(p[1]);
}

int main(void) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;

        CHECK(sd_event_new(&e) >= 0);
        fprintf(stderr, "== test_answered_and_timed_out\n");
        test_answered_and_timed_out(e);
        fprintf(stderr, "== test_bound_in_all_and_free_while_stuck\n");
        test_bound_in_all_and_free_while_stuck(e);
        return 0;
}
