/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "worker.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "conf.h"
#include "diag.h"
#include "gen.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "session.h"
#include "upstream_check.h"
#include "upstream_limit.h"

static atomic_uint_fast64_t conn_id_next = 1;

uint64_t
worker_next_conn_id(void)
{
	return atomic_fetch_add(&conn_id_next, 1);
}

void
worker_session_add(struct worker *w, struct session *s)
{
	TAILQ_INSERT_TAIL(&w->sessions, s, entry);
	w->nsessions++;
	/* seq_cst: a peer deciding to step aside reads it (listener.c's balance) */
	atomic_store(&w->nconns, w->nsessions);
}

void
worker_session_del(struct worker *w, struct session *s)
{
	TAILQ_REMOVE(&w->sessions, s, entry);
	w->nsessions--;
	atomic_store_explicit(&w->nconns, w->nsessions, memory_order_relaxed);
	if (w->accepting_paused && !w->draining &&
	    w->nsessions < w->max_sessions)
		listener_pause(w, false);
	if (atomic_load_explicit(&w->balance_paused, memory_order_relaxed))
		listener_balance(w);
	if (w->draining && w->nsessions == 0)
		event_base_loopexit(w->base, NULL);
}

/* Closes every live session (drain deadline passed). */
static void
worker_abort_sessions(struct worker *w)
{
	struct session *s, *next;
	struct tb_err err;

	tb_err_set(&err, CR_SHUTDOWN, PHASE_NONE,
	    "the broker stopped and drain_timeout passed");
	for (s = TAILQ_FIRST(&w->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		session_close(s, &err);
	}
}

static int worker_pools_init(struct worker *w);

/*
 * Reload: new connections use the new generation from now on; sessions in
 * flight keep theirs.  The old pools are retired, not freed, because those
 * sessions may still hand connections back to them.
 */
static void
worker_switch_gen(struct worker *w)
{
	struct gen *g = w->pending_gen;
	struct retired_pools *r;
	unsigned i;

	if (g == NULL)
		return;
	w->pending_gen = NULL;
	listener_detach(w);
	for (i = 0; i < w->npools; i++)
		pool_retire(&w->pools[i]);
	r = realloc(w->retired, (w->nretired + 1) * sizeof(*r));
	if (r != NULL) {
		w->retired = r;
		w->retired[w->nretired].pools = w->pools;
		w->retired[w->nretired].count = w->npools;
		w->retired[w->nretired].gen = gen_ref(w->gen);
		w->nretired++;
	} else {
		log_warnx("worker %u: out of memory retiring pools", w->id);
		free(w->pools);	/* retired pools hold nothing; old sessions lose reuse */
	}
	w->pools = NULL;
	w->npools = 0;
	gen_unref(w->gen);
	w->gen = g;
	if (worker_pools_init(w) == -1)
		log_warnx("worker %u: out of memory for the new pools", w->id);
	if (!w->draining && listener_attach(w, w->pending_ls) == -1)
		log_warnx("worker %u: cannot attach the new listeners", w->id);
	if (w->ack_counter != NULL)
		atomic_fetch_add(w->ack_counter, 1);
	wake_fd_wake(w->parent_wake_fd);
}

/*
 * Drain: http connections waiting between requests have nothing in flight;
 * close them now (the others finish their exchange and close after it).
 */
static void
worker_close_idle(struct worker *w)
{
	struct session *s, *next;

	for (s = TAILQ_FIRST(&w->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (session_idle(s))
			session_close(s, NULL);
	}
}

/*
 * Connection caps (upstream_limit.h): close an idle connection a waiter
 * elsewhere needs, and hand freed slots to this worker's waiters.  Waiters
 * of an older generation's route are reached through the retired pools.
 */
static void
worker_run_limits(struct worker *w)
{
	unsigned i, r;

	/* a route's pools (one per address) share its cap: run it once */
	for (i = 0; i < w->npools; i++) {
		pool_shed(&w->pools[i]);
		if (w->pools[i].addr == 0)
			uplimit_run(w->pools[i].rc->limit, w->id);
	}
	for (r = 0; r < w->nretired; r++)
		for (i = 0; i < w->retired[r].count; i++)
			if (w->retired[r].pools[i].addr == 0)
				uplimit_run(w->retired[r].pools[i].rc->limit, w->id);
}

void
worker_wake_uplimit(unsigned wid, void *workers)
{
	worker_post(&((struct worker *)workers)[wid], WORKER_CMD_UPLIMIT);
}

static void
worker_control_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	unsigned cmd;

	(void)what;
	wake_fd_drain(fd);
	cmd = atomic_exchange(&w->cmd, 0);
	if (cmd & WORKER_CMD_PING)
		atomic_store(&w->ping_seen, atomic_load(&w->ping_sent));
	if ((cmd & WORKER_CMD_DRAIN) && !w->draining) {
		w->draining = true;
		listener_detach(w);
		worker_close_idle(w);
		if (w->nsessions == 0)
			event_base_loopexit(w->base, NULL);
	}
	if (cmd & WORKER_CMD_GEN)
		worker_switch_gen(w);
	if (cmd & WORKER_CMD_ABORT)
		worker_abort_sessions(w);
	if (cmd & WORKER_CMD_UPLIMIT)
		worker_run_limits(w);
	if (cmd & WORKER_CMD_BALANCE)
		listener_balance(w);
}

static void
retired_pools_free(struct retired_pools *r)
{
	unsigned i;

	/* retired pools may hold TLS sessions saved since */
	for (i = 0; i < r->count; i++)
		pool_free(&r->pools[i]);
	free(r->pools);
	gen_unref(r->gen);
}

static bool
worker_gen_in_use(const struct worker *w, const struct gen *g)
{
	const struct session *s;

	TAILQ_FOREACH(s, &w->sessions, entry)
		if (s->gen == g)
			return true;
	return false;
}

/*
 * Frees the pools of older generations that no session of this worker
 * uses any more.  Only sessions reach a retired pool (an exchange's pool,
 * a tcp session's connection), and a session leaves the list only after
 * its last use of them, so without sessions of that generation nothing
 * can.  Without this, every reload would keep its pools until exit.
 */
static void
worker_release_retired(struct worker *w)
{
	unsigned i = 0;

	while (i < w->nretired) {
		if (worker_gen_in_use(w, w->retired[i].gen)) {
			i++;
			continue;
		}
		retired_pools_free(&w->retired[i]);
		w->retired[i] = w->retired[--w->nretired];
		log_info("worker %u: freed the upstream pools of an older "
		    "configuration (%u left)", w->id, w->nretired);
	}
}

static void
worker_heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	unsigned i;

	(void)fd;
	(void)what;
	for (i = 0; i < w->npools; i++)
		pool_maintain(&w->pools[i]);
	worker_release_retired(w);
}

int
wake_fd_new(void)
{
	return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

void
wake_fd_wake(int fd)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already non-zero: the wake is pending. */
	if (fd != -1 && write(fd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warn("eventfd write");
}

void
wake_fd_drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
}

struct event_base *
worker_base_new(void)
{
	struct event_config *cfg;
	struct event_base *base;

	if ((cfg = event_config_new()) == NULL)
		return NULL;
	/*
	 * Coalesce epoll_ctl calls within a loop turn: a socket waiting for
	 * EPOLLOUT (sockio) or parked and woken again adds and removes its
	 * event, and with the changelist a remove followed by an add costs
	 * no system call.
	 */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

void
worker_ping(struct worker *w, uint64_t n)
{
	atomic_store(&w->ping_sent, n);
	worker_post(w, WORKER_CMD_PING);
}

bool
worker_ping_answered(struct worker *w)
{
	/* A worker that drained and left its loop is not stuck. */
	return atomic_load(&w->exited) ||
	    atomic_load(&w->ping_seen) == atomic_load(&w->ping_sent);
}

static int
worker_pools_init(struct worker *w)
{
	const struct conf *conf = w->gen->conf;
	const struct route_conf *rc;
	unsigned i, a;

	/* one pool per address; pool_sibling() relies on this order */
	w->pools = calloc(conf->npools + 1, sizeof(*w->pools));
	if (w->pools == NULL)
		return -1;
	for (i = 0; i < conf->nroutes; i++) {
		rc = &conf->routes[i];
		for (a = 0; a < rc->nupstreams; a++)
			pool_init(&w->pools[rc->pool_base + a], w, rc, a,
			    w->gen->clients[i]);
	}
	w->npools = conf->npools;
	return 0;
}

int
worker_init(struct worker *w, unsigned id, struct gen *gen,
    const struct listener_set *ls, unsigned max_sessions)
{
	struct timeval one_second = { 1, 0 };

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->max_sessions = max_sessions > 0 ? max_sessions : 1;
	TAILQ_INIT(&w->sessions);
	atomic_init(&w->cmd, 0);
	atomic_init(&w->ping_sent, 0);
	atomic_init(&w->ping_seen, 0);
	atomic_init(&w->nconns, 0);
	atomic_init(&w->exited, false);
	atomic_init(&w->balance_paused, false);
	atomic_init(&w->takes_conns, false);
	w->gen = gen_ref(gen);
	w->metrics = metrics_worker(id);
	w->wake_fd = -1;
	w->parent_wake_fd = -1;
	if ((w->base = worker_base_new()) == NULL ||
	    (w->wake_fd = wake_fd_new()) == -1) {
		log_warnx("worker %u: cannot create an event base", id);
		return -1;
	}
	/* Reads resolv.conf and /etc/hosts, like the system resolver. */
	w->dns = evdns_base_new(w->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (w->dns == NULL)
		w->dns = evdns_base_new(w->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	w->control_ev = event_new(w->base, w->wake_fd, EV_READ | EV_PERSIST,
	    worker_control_cb, w);
	w->heartbeat_ev = event_new(w->base, -1, EV_PERSIST, worker_heartbeat_cb, w);
	if (w->dns == NULL || w->control_ev == NULL || w->heartbeat_ev == NULL ||
	    event_add(w->control_ev, NULL) == -1 ||
	    event_add(w->heartbeat_ev, &one_second) == -1) {
		log_warnx("worker %u: cannot set up its events", id);
		return -1;
	}
	if (worker_pools_init(w) == -1) {
		log_warnx("worker %u: out of memory", id);
		return -1;
	}
	/* health is shared: one worker checks for the whole process */
	if (id == 0 && (w->checker = upstream_check_new(w)) == NULL) {
		log_warnx("worker %u: out of memory for the health checks", id);
		return -1;
	}
	if (listener_attach(w, ls) == -1) {
		log_warnx("worker %u: cannot attach listeners", id);
		return -1;
	}
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	atomic_store(&w->exited, true);
	if (w->exit_counter != NULL)
		atomic_fetch_add(w->exit_counter, 1);
	wake_fd_wake(w->parent_wake_fd);
	return NULL;
}

int
worker_start(struct worker *w)
{
	int r;

	if ((r = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
		errno = r;
		log_warn("worker %u: pthread_create", w->id);
		return -1;
	}
	w->started = true;
	return 0;
}

void
worker_post(struct worker *w, unsigned cmd)
{
	atomic_fetch_or(&w->cmd, cmd);
	wake_fd_wake(w->wake_fd);
}

void
worker_join(struct worker *w)
{
	if (w->started) {
		pthread_join(w->thread, NULL);
		w->started = false;
	}
}

void
worker_free(struct worker *w)
{
	unsigned i;

	/* never initialised (a start that failed at an earlier worker): zeros only */
	if (w->gen == NULL)
		return;
	w->npeers = 0;	/* the peers may be freed already: nobody to tell */
	listener_detach(w);
	upstream_check_free(w->checker);	/* its connections may have lookups pending too */
	w->checker = NULL;
	/* Pools first: their warming connections may have lookups pending. */
	for (i = 0; i < w->npools; i++)
		pool_free(&w->pools[i]);
	if (w->dns != NULL)
		evdns_base_free(w->dns, 1);	/* fails pending lookups: their owners free */
	/* Let deferred frees (sessions, cancelled lookups) run before the base goes. */
	if (w->base != NULL)
		event_base_loop(w->base, EVLOOP_NONBLOCK);
	free(w->pools);
	session_modes_worker_free(w);
	/* Retired pools hold no warming connections: no lookups pending. */
	for (i = 0; i < w->nretired; i++)
		retired_pools_free(&w->retired[i]);
	free(w->retired);
	if (w->pending_gen != NULL)
		gen_unref(w->pending_gen);
	if (w->control_ev != NULL)
		event_free(w->control_ev);
	if (w->heartbeat_ev != NULL)
		event_free(w->heartbeat_ev);
	if (w->wake_fd != -1)
		close(w->wake_fd);
	uplimit_worker_exit(w->id);	/* sockets waiting for an endpoint's FIN */
	if (w->base != NULL)
		event_base_free(w->base);
	gen_unref(w->gen);
	memset(w, 0, sizeof(*w));
}
