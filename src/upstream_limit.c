/* SPDX-License-Identifier: MIT */
/*
 * upstream_limit: slot counting, the per-worker FIFO queues and the
 * cross-worker hand-over (see upstream_limit.h for the design).
 *
 * Shared state is atomics only.  The rule that keeps wake-ups from being
 * lost: whoever changes the state (a release frees a slot, a waiter joins
 * a queue) looks at the other half afterwards (uplimit_kick()), all with
 * sequentially consistent atomics, so at least one of two racing threads
 * sees both changes and wakes the worker whose turn it is.  A queue and
 * its waiters are touched only by their own worker; other threads read
 * its published head ticket and its idle count.
 */
#include "config.h"

#include "upstream_limit.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "diag.h"
#include "metrics.h"

#define NO_TICKET	UINT64_MAX
#define NO_WORKER	UINT32_MAX

struct uplimit_wait {
	TAILQ_ENTRY(uplimit_wait) link;		/* in its worker's queue */
	struct uplimit *l;			/* not owned */
	unsigned wid;
	uint64_t ticket;			/* process-wide arrival order */
	uint64_t t_start;			/* monotonic ms at queueing */
	const char *route;			/* not owned: its name, for messages */
	struct event *timer;			/* owned: upstream_queue_timeout */
	uplimit_cb cb;
	void *arg;
};

TAILQ_HEAD(uplimit_waitq, uplimit_wait);

/* One worker's share: its own cache line, written mostly by that worker. */
struct uplimit_queue {
	struct uplimit_waitq waiters;		/* this worker's thread only */
	_Atomic uint64_t head;			/* ticket of the first waiter, NO_TICKET */
	atomic_int idle;			/* idle pooled connections in this worker */
	atomic_bool shed;			/* asked to close one of them */
} __attribute__((aligned(64)));

struct uplimit {
	atomic_uint max;			/* upstream_max_connections, 0 = unlimited */
	atomic_uint queue_max;			/* upstream_queue_max */
	_Atomic uint64_t queue_timeout_ms;	/* upstream_queue_timeout */
	atomic_int in_use;			/* slots held */
	atomic_int waiting;			/* queued over all workers */
	_Atomic uint64_t next_ticket;
	atomic_uint_fast64_t waits, timeouts, full;	/* slow path only */
	struct uplimit_queue q[UPLIMIT_MAX_WORKERS];
};

static void uplimit_unlink(struct uplimit_wait *wt);

static struct uplimit *registry[METRICS_MAX_ROUTES];	/* main thread */

/* Set before the workers start, read-only afterwards. */
static uplimit_waker waker;
static void *waker_arg;
static unsigned nworkers = UPLIMIT_MAX_WORKERS;

struct uplimit *
uplimit_new(void)
{
	struct uplimit *l;
	unsigned i;

	if ((l = aligned_alloc(64, sizeof(*l))) == NULL)
		return NULL;
	memset(l, 0, sizeof(*l));
	atomic_init(&l->queue_timeout_ms, 30 * 1000);
	for (i = 0; i < UPLIMIT_MAX_WORKERS; i++) {
		TAILQ_INIT(&l->q[i].waiters);
		atomic_init(&l->q[i].head, NO_TICKET);
	}
	return l;
}

/* Frees l and whatever still waits in it, without callbacks (at exit). */
void
uplimit_free(struct uplimit *l)
{
	struct uplimit_wait *wt;
	unsigned i;

	if (l == NULL)
		return;
	for (i = 0; i < UPLIMIT_MAX_WORKERS; i++)
		while ((wt = TAILQ_FIRST(&l->q[i].waiters)) != NULL)
			uplimit_unlink(wt);
	free(l);
}

struct uplimit *
uplimit_for_route(int id)
{
	if (id < 0 || id >= METRICS_MAX_ROUTES)
		return NULL;
	if (registry[id] == NULL)
		registry[id] = uplimit_new();
	return registry[id];
}

void
uplimit_configure(struct uplimit *l, unsigned max, unsigned queue_max,
    uint64_t queue_timeout_ms)
{
	if (l == NULL)
		return;
	atomic_store(&l->max, max);
	atomic_store(&l->queue_max, queue_max);
	atomic_store(&l->queue_timeout_ms, queue_timeout_ms);
	/* A raised cap frees slots for whoever waits. */
	if (atomic_load(&l->waiting) != 0 && waker != NULL) {
		unsigned v;

		for (v = 0; v < nworkers; v++)
			waker(v, waker_arg);
	}
}

bool
uplimit_stats(int id, struct uplimit_stats *st)
{
	struct uplimit *l;

	memset(st, 0, sizeof(*st));
	if (id < 0 || id >= METRICS_MAX_ROUTES || (l = registry[id]) == NULL)
		return false;
	st->max = atomic_load(&l->max);
	st->in_use = atomic_load(&l->in_use);
	st->queued = atomic_load(&l->waiting);
	st->waits = atomic_load(&l->waits);
	st->timeouts = atomic_load(&l->timeouts);
	st->full = atomic_load(&l->full);
	return true;
}

void
uplimit_free_all(void)
{
	unsigned i;

	for (i = 0; i < METRICS_MAX_ROUTES; i++) {
		uplimit_free(registry[i]);
		registry[i] = NULL;
	}
}

void
uplimit_set_waker(uplimit_waker fn, void *arg, unsigned n)
{
	waker = fn;
	waker_arg = arg;
	nworkers = n > 0 && n <= UPLIMIT_MAX_WORKERS ? n : UPLIMIT_MAX_WORKERS;
}

static void
uplimit_wake(unsigned wid)
{
	if (waker != NULL)
		waker(wid, waker_arg);
}

/* ---- slots ----------------------------------------------------------------- */

static bool
uplimit_slot_free(struct uplimit *l)
{
	unsigned max = atomic_load(&l->max);

	return max == 0 || (unsigned)atomic_load(&l->in_use) < max;
}

/* Takes a slot if the cap allows, queue or not. */
static bool
uplimit_slot_take(struct uplimit *l)
{
	unsigned max = atomic_load(&l->max);
	int cur;

	if (max == 0) {
		/* counted anyway: a reload may set a cap, and these still count */
		atomic_fetch_add(&l->in_use, 1);
		return true;
	}
	cur = atomic_load(&l->in_use);
	while ((unsigned)cur < max)
		if (atomic_compare_exchange_weak(&l->in_use, &cur, cur + 1))
			return true;
	return false;
}

bool
uplimit_take(struct uplimit *l)
{
	if (l == NULL)
		return true;
	if (atomic_load(&l->max) != 0 && atomic_load(&l->waiting) != 0)
		return false;	/* the queue goes first */
	return uplimit_slot_take(l);
}

/* The worker whose queue holds the lowest ticket, NO_WORKER if none. */
static unsigned
uplimit_head_worker(struct uplimit *l)
{
	uint64_t best = NO_TICKET, t;
	unsigned v, who = NO_WORKER;

	for (v = 0; v < nworkers; v++) {
		t = atomic_load(&l->q[v].head);
		if (t < best) {
			best = t;
			who = v;
		}
	}
	return who;
}

/* No slot for the queue: ask a worker holding an idle connection to close it. */
static void
uplimit_ask_shed(struct uplimit *l)
{
	unsigned v;

	for (v = 0; v < nworkers; v++)
		if (atomic_load(&l->q[v].idle) > 0) {
			if (!atomic_exchange(&l->q[v].shed, true))
				uplimit_wake(v);
			return;
		}
}

/* After any change: wake whoever can make progress now. */
static void
uplimit_kick(struct uplimit *l)
{
	unsigned v;

	if (atomic_load(&l->waiting) == 0)
		return;
	if (!uplimit_slot_free(l)) {
		uplimit_ask_shed(l);
		return;
	}
	if ((v = uplimit_head_worker(l)) != NO_WORKER)
		uplimit_wake(v);
}

void
uplimit_release(struct uplimit *l)
{
	if (l == NULL)
		return;
	atomic_fetch_sub(&l->in_use, 1);
	if (atomic_load(&l->waiting) != 0)
		uplimit_kick(l);
}

bool
uplimit_queued(struct uplimit *l)
{
	return l != NULL &&
	    atomic_load_explicit(&l->waiting, memory_order_relaxed) != 0;
}

/* ---- reasons --------------------------------------------------------------- */

static void
uplimit_err_busy(struct tb_err *err, const char *route, struct uplimit *l)
{
	tb_err_set(err, CR_UPSTREAM_BUSY, PHASE_CONNECT,
	    "route %s: all %u upstream_max_connections in use and the queue "
	    "full (upstream_queue_max = %u)", route,
	    atomic_load(&l->max), atomic_load(&l->queue_max));
}

static void
uplimit_err_timeout(struct tb_err *err, const char *route,
    struct uplimit *l, uint64_t waited_ms)
{
	tb_err_set(err, CR_UPSTREAM_QUEUE_TIMEOUT, PHASE_CONNECT,
	    "route %s: no free upstream connection (upstream_max_connections "
	    "= %u) within upstream_queue_timeout (waited %llu ms)", route,
	    atomic_load(&l->max), (unsigned long long)waited_ms);
}

/* ---- closing ------------------------------------------------------------- */

/* A closed connection's socket, kept until the endpoint closed its side. */
struct uplimit_closer {
	TAILQ_ENTRY(uplimit_closer) link;
	struct uplimit *l;			/* not owned */
	unsigned wid;
	int fd;					/* owned */
	struct event *ev;			/* owned */
};
TAILQ_HEAD(uplimit_closers, uplimit_closer);

/* Per worker, touched only by its thread. */
static struct uplimit_closers closers[UPLIMIT_MAX_WORKERS];	/* set up on first use */

bool
uplimit_capped(struct uplimit *l)
{
	return l != NULL && atomic_load_explicit(&l->max, memory_order_relaxed) != 0;
}

static void
uplimit_closer_free(struct uplimit_closer *c)
{
	TAILQ_REMOVE(&closers[c->wid], c, link);
	event_free(c->ev);
	close(c->fd);
	uplimit_release(c->l);
	free(c);
}

static void
uplimit_closer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct uplimit_closer *c = arg;
	char buf[512];
	ssize_t n;

	if (what & EV_READ) {
		/* what the endpoint still sends is dropped; its FIN or reset ends the wait */
		while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
	}
	uplimit_closer_free(c);
}

void
uplimit_release_closed(struct uplimit *l, unsigned wid,
    struct event_base *base, int fd)
{
	struct uplimit_closer *c = NULL;

	if (wid < UPLIMIT_MAX_WORKERS && closers[wid].tqh_last == NULL)
		TAILQ_INIT(&closers[wid]);
	if (fd == -1 || wid >= UPLIMIT_MAX_WORKERS ||
	    shutdown(fd, SHUT_WR) == -1 || (c = calloc(1, sizeof(*c))) == NULL ||
	    (c->ev = event_new(base, fd, EV_READ | EV_PERSIST, uplimit_closer_cb,
	    c)) == NULL || event_add_ms(c->ev, UPLIMIT_CLOSE_WAIT_MS) == -1) {
		/* not connected (or out of memory): nothing to wait for */
		if (c != NULL && c->ev != NULL)
			event_free(c->ev);
		free(c);
		if (fd != -1)
			close(fd);
		uplimit_release(l);
		return;
	}
	c->l = l;
	c->wid = wid;
	c->fd = fd;
	TAILQ_INSERT_TAIL(&closers[wid], c, link);
}

void
uplimit_worker_exit(unsigned wid)
{
	struct uplimit_closer *c;

	if (wid >= UPLIMIT_MAX_WORKERS || closers[wid].tqh_last == NULL)
		return;
	while ((c = TAILQ_FIRST(&closers[wid])) != NULL)
		uplimit_closer_free(c);
}

/* ---- the queue ------------------------------------------------------------- */

static void
uplimit_publish_head(struct uplimit_queue *q)
{
	struct uplimit_wait *first = TAILQ_FIRST(&q->waiters);

	atomic_store(&q->head, first != NULL ? first->ticket : NO_TICKET);
}

/* Takes wt out of its queue and frees it; the caller runs its callback, if any. */
static void
uplimit_unlink(struct uplimit_wait *wt)
{
	struct uplimit *l = wt->l;
	struct uplimit_queue *q = &l->q[wt->wid];

	TAILQ_REMOVE(&q->waiters, wt, link);
	uplimit_publish_head(q);
	atomic_fetch_sub(&l->waiting, 1);
	event_free(wt->timer);
	free(wt);
}

static void
uplimit_timeoutcb(evutil_socket_t fd, short what, void *arg)
{
	struct uplimit_wait *wt = arg;
	struct uplimit *l = wt->l;
	uplimit_cb cb = wt->cb;
	void *cb_arg = wt->arg;
	uint64_t waited = now_ms() - wt->t_start;
	struct tb_err err;

	(void)fd;
	(void)what;
	uplimit_err_timeout(&err, wt->route, l, waited);
	atomic_fetch_add(&l->timeouts, 1);
	uplimit_unlink(wt);
	uplimit_kick(l);	/* the next in line may be another worker's */
	cb(cb_arg, &err, waited);
}

struct uplimit_wait *
uplimit_wait(struct uplimit *l, unsigned wid, struct event_base *base,
    const char *route, uplimit_cb cb, void *arg, struct tb_err *err)
{
	struct uplimit_queue *q;
	struct uplimit_wait *wt;

	if ((unsigned)atomic_fetch_add(&l->waiting, 1) >= atomic_load(&l->queue_max) ||
	    wid >= UPLIMIT_MAX_WORKERS) {
		atomic_fetch_sub(&l->waiting, 1);
		atomic_fetch_add(&l->full, 1);
		uplimit_err_busy(err, route, l);
		return NULL;
	}
	/* the wait is bounded from the start, or it does not begin */
	if ((wt = calloc(1, sizeof(*wt))) == NULL ||
	    (wt->timer = evtimer_new(base, uplimit_timeoutcb, wt)) == NULL ||
	    event_add_ms(wt->timer, atomic_load(&l->queue_timeout_ms)) == -1) {
		if (wt != NULL && wt->timer != NULL)
			event_free(wt->timer);
		free(wt);
		atomic_fetch_sub(&l->waiting, 1);
		uplimit_err_busy(err, route, l);
		snprintf(err->msg, sizeof(err->msg),
		    "route %s: out of memory queueing for an upstream connection", route);
		return NULL;
	}
	wt->route = route;
	wt->l = l;
	wt->wid = wid;
	wt->cb = cb;
	wt->arg = arg;
	wt->t_start = now_ms();
	wt->ticket = atomic_fetch_add(&l->next_ticket, 1);
	q = &l->q[wid];
	TAILQ_INSERT_TAIL(&q->waiters, wt, link);
	if (TAILQ_FIRST(&q->waiters) == wt)
		uplimit_publish_head(q);
	atomic_fetch_add(&l->waits, 1);
	/* A slot may have freed since uplimit_take() failed. */
	uplimit_kick(l);
	return wt;
}

void
uplimit_cancel(struct uplimit_wait *wt)
{
	struct uplimit *l;

	if (wt == NULL)
		return;
	l = wt->l;
	uplimit_unlink(wt);
	uplimit_kick(l);
}

void
uplimit_run(struct uplimit *l, unsigned wid)
{
	struct uplimit_queue *q;
	struct uplimit_wait *wt;
	uplimit_cb cb;
	void *arg;
	uint64_t waited;

	if (l == NULL || wid >= UPLIMIT_MAX_WORKERS)
		return;
	q = &l->q[wid];
	while ((wt = TAILQ_FIRST(&q->waiters)) != NULL) {
		if (uplimit_head_worker(l) != wid || !uplimit_slot_take(l)) {
			/* another worker's turn, or no slot: wake who can go on */
			uplimit_kick(l);
			return;
		}
		cb = wt->cb;
		arg = wt->arg;
		waited = now_ms() - wt->t_start;
		uplimit_unlink(wt);
		cb(arg, NULL, waited);
	}
}

bool
uplimit_shed_wanted(struct uplimit *l, unsigned wid)
{
	if (l == NULL || wid >= UPLIMIT_MAX_WORKERS ||
	    !atomic_load_explicit(&l->q[wid].shed, memory_order_relaxed))
		return false;
	return atomic_exchange(&l->q[wid].shed, false);
}

void
uplimit_idle_add(struct uplimit *l, unsigned wid, int delta)
{
	if (l != NULL && wid < UPLIMIT_MAX_WORKERS)
		atomic_fetch_add_explicit(&l->q[wid].idle, delta,
		    memory_order_relaxed);
}
