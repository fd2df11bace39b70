/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>

#include "offload.h"

/* Small: the work reads a few kilobytes. Bounded, times max_total, even when every thread is stuck. */
#define OFFLOAD_STACK_SIZE (256U * 1024U)

typedef struct OffloadJob OffloadJob;

/* What the threads share with the loop. It outlives the Offload for as long as an abandoned thread holds it,
 * so that such a thread never touches freed memory or a closed (perhaps reused) fd. */
typedef struct Hub {
        pthread_mutex_t lock;
        unsigned n_ref;                 /* the Offload's, and one a piece of work */
        int event_fd;                   /* the threads tell the loop: work has finished */
        OffloadJob *finished;           /* finished and still wanted, for the loop to take */
        bool closed;                    /* the Offload is gone: nobody takes them any more */
        unsigned n_threads;
        struct {
                uint64_t key;
                unsigned n;
        } *keys;                        /* threads alive by key, n_keys of them in use */
        size_t n_keys;
} Hub;

struct OffloadJob {
        Hub *hub;
        OffloadWork work;
        void *data;
        void (*free_data)(void *);
        uint64_t key;

        /* under the hub's lock */
        unsigned n_ref;                 /* the thread's, and the loop's until it is answered */
        bool finished;
        int result;
        OffloadJob *next_finished;

        /* the loop's */
        Offload *offload;               /* NULL once answered */
        OffloadJob *prev, *next;        /* in offload->jobs */
        sd_event_source *timer;
        OffloadDone done;
        void *userdata;
};

struct Offload {
        Hub *hub;
        sd_event *event;
        sd_event_source *source;
        uint64_t timeout_usec;
        unsigned max_per_key, max_total;
        OffloadJob *jobs;               /* not answered yet */
};

static void hub_unref(Hub *h) {
        bool last;

        if (!h)
                return;
        pthread_mutex_lock(&h->lock);
        last = --h->n_ref == 0;
        pthread_mutex_unlock(&h->lock);
        if (!last)
                return;
        if (h->event_fd >= 0)
                close(h->event_fd);
        free(h->keys);
        pthread_mutex_destroy(&h->lock);
        free(h);
}

/* Under the hub's lock. */
static unsigned *hub_key_count(Hub *h, uint64_t key) {
        for (size_t i = 0; i < h->n_keys; i++)
                if (h->keys[i].key == key)
                        return &h->keys[i].n;
        return NULL;
}

/* Under the hub's lock: a thread for key ended. */
static void hub_release(Hub *h, uint64_t key) {
        h->n_threads--;
        for (size_t i = 0; i < h->n_keys; i++)
                if (h->keys[i].key == key) {
                        if (--h->keys[i].n == 0)
                                h->keys[i] = h->keys[--h->n_keys];
                        return;
                }
}

static void job_unref(OffloadJob *j) {
        Hub *h = j->hub;
        bool last;

        pthread_mutex_lock(&h->lock);
        last = --j->n_ref == 0;
        pthread_mutex_unlock(&h->lock);
        if (!last)
                return;
        if (j->free_data)
                j->free_data(j->data);
        free(j);
        hub_unref(h);
}

static void *job_thread(void *userdata) {
        OffloadJob *j = userdata;
        Hub *h = j->hub;
        int result = j->work(j->data);
        bool wanted;

        pthread_mutex_lock(&h->lock);
        j->result = result;
        j->finished = true;
        hub_release(h, j->key);
        /* still waited for: the finished list takes over the thread's reference. The eventfd is written
         * under the lock, so the hub cannot be freed (and its fd closed) in between. */
        wanted = j->n_ref > 1 && !h->closed;
        if (wanted) {
                uint64_t one = 1;

                j->next_finished = h->finished;
                h->finished = j;
                (void) !write(h->event_fd, &one, sizeof(one));
        }
        pthread_mutex_unlock(&h->lock);
        if (!wanted)
                job_unref(j);
        return NULL;
}

/* Calls done once, and drops the loop's reference. */
static void job_answer(OffloadJob *j, int result) {
        Offload *o = j->offload;

        if (!o)
                return;
        if (j->prev)
                j->prev->next = j->next;
        else
                o->jobs = j->next;
        if (j->next)
                j->next->prev = j->prev;
        j->offload = NULL;
        j->timer = sd_event_source_disable_unref(j->timer);
        j->done(result, result == -ETIMEDOUT || result == -ECANCELED ? NULL : j->data, j->userdata);
        job_unref(j);
}

static OffloadJob *take_finished(Hub *h) {
        OffloadJob *l;

        pthread_mutex_lock(&h->lock);
        l = h->finished;
        h->finished = NULL;
        pthread_mutex_unlock(&h->lock);
        return l;
}

static int on_finished(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Offload *o = userdata;
        uint64_t n;

        (void) !read(fd, &n, sizeof(n));
        for (OffloadJob *j = take_finished(o->hub), *next; j; j = next) {
                next = j->next_finished;
                job_answer(j, j->result);       /* nothing when the deadline answered it meanwhile */
                job_unref(j);                   /* the thread's reference, which the list held */
        }
        return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        OffloadJob *j = userdata;
        bool finished;
        int result;

        pthread_mutex_lock(&j->hub->lock);
        finished = j->finished;
        result = j->result;
        pthread_mutex_unlock(&j->hub->lock);
        /* finished just now, and not yet taken from the list: the answer is there, and it is on time */
        job_answer(j, finished ? result : -ETIMEDOUT);
        return 0;
}

int offload_new(sd_event *event, uint64_t timeout_usec, unsigned max_per_key, unsigned max_total,
                Offload **ret) {
        _cleanup_(offload_freep) Offload *o = NULL;
        Hub *h;
        int r;

        o = calloc(1, sizeof(Offload));
        if (!o)
                return -ENOMEM;
        *o = (Offload) { .event = sd_event_ref(event), .timeout_usec = timeout_usec,
                         .max_per_key = max_per_key ?: 1, .max_total = max_total ?: 1 };
        h = o->hub = calloc(1, sizeof(Hub));
        if (!h)
                return -ENOMEM;
        *h = (Hub) { .n_ref = 1, .event_fd = -1 };
        pthread_mutex_init(&h->lock, NULL);
        h->keys = calloc(o->max_total, sizeof(h->keys[0]));
        if (!h->keys)
                return -ENOMEM;
        h->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (h->event_fd < 0)
                return -errno;
        r = sd_event_add_io(event, &o->source, h->event_fd, EPOLLIN, on_finished, o);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

Offload *offload_free(Offload *o) {
        if (!o)
                return NULL;
        if (o->hub) {
                pthread_mutex_lock(&o->hub->lock);
                o->hub->closed = true;
                pthread_mutex_unlock(&o->hub->lock);
                /* those that finished are answered with what they found; the rest are cancelled */
                for (OffloadJob *j = take_finished(o->hub), *next; j; j = next) {
                        next = j->next_finished;
                        job_answer(j, j->result);
                        job_unref(j);
                }
                while (o->jobs)
                        job_answer(o->jobs, -ECANCELED);
        }
        sd_event_source_disable_unref(o->source);
        hub_unref(o->hub);
        sd_event_unref(o->event);
        free(o);
        return NULL;
}

/* Takes a place for a thread of key. Returns 0, -EUSERS or -EAGAIN. */
static int hub_reserve(Hub *h, uint64_t key, unsigned max_per_key, unsigned max_total) {
        unsigned *n;
        int r = 0;

        pthread_mutex_lock(&h->lock);
        n = hub_key_count(h, key);
        if (n && *n >= max_per_key)
                r = -EUSERS;
        else if (h->n_threads >= max_total)
                r = -EAGAIN;
        else {
                if (!n) {
                        h->keys[h->n_keys] = (typeof(h->keys[0])) { .key = key };
                        n = &h->keys[h->n_keys++].n;
                }
                (*n)++;
                h->n_threads++;
        }
        pthread_mutex_unlock(&h->lock);
        return r;
}

static int job_start(OffloadJob *j) {
        pthread_attr_t attr;
        sigset_t all, old;
        pthread_t t;
        int r;

        r = -pthread_attr_init(&attr);
        if (r < 0)
                return r;
        r = -pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (r >= 0)
                r = -pthread_attr_setstacksize(&attr, OFFLOAD_STACK_SIZE);
        if (r >= 0) {
                /* the thread takes no signals: they belong to the event loop */
                sigfillset(&all);
                pthread_sigmask(SIG_BLOCK, &all, &old);
                r = -pthread_create(&t, &attr, job_thread, j);
                pthread_sigmask(SIG_SETMASK, &old, NULL);
        }
        pthread_attr_destroy(&attr);
        return r;
}

int offload_submit(Offload *o, uint64_t key, OffloadWork work, void *data, void (*free_data)(void *),
                   OffloadDone done, void *userdata) {
        OffloadJob *j;
        int r;

        r = hub_reserve(o->hub, key, o->max_per_key, o->max_total);
        if (r < 0)
                return r;
        j = calloc(1, sizeof(OffloadJob));
        if (!j) {
                r = -ENOMEM;
                goto fail;
        }
        *j = (OffloadJob) { .hub = o->hub, .work = work, .data = data, .free_data = free_data, .key = key,
                            .n_ref = 2, .offload = o, .done = done, .userdata = userdata };
        r = sd_event_add_time_relative(o->event, &j->timer, CLOCK_MONOTONIC, o->timeout_usec, 0, on_deadline, j);
        if (r < 0)
                goto fail;
        pthread_mutex_lock(&o->hub->lock);
        o->hub->n_ref++;
        pthread_mutex_unlock(&o->hub->lock);
        r = job_start(j);
        if (r < 0) {
                hub_unref(o->hub);
                goto fail;
        }
        j->next = o->jobs;
        if (o->jobs)
                o->jobs->prev = j;
        o->jobs = j;
        return 0;

fail:
        if (j)
                sd_event_source_disable_unref(j->timer);
        free(j);
        pthread_mutex_lock(&o->hub->lock);
        hub_release(o->hub, key);
        pthread_mutex_unlock(&o->hub->lock);
        return r;
}

unsigned offload_threads(Offload *o) {
        unsigned n;

        pthread_mutex_lock(&o->hub->lock);
        n = o->hub->n_threads;
        pthread_mutex_unlock(&o->hub->lock);
        return n;
}

uint64_t offload_timeout_usec(const Offload *o) {
        return o->timeout_usec;
}
