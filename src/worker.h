/* SPDX-License-Identifier: MIT */
/*
 * worker: one thread with its own event_base, DNS resolver and accept
 * descriptors (of sockets every worker shares; listener.c balances who
 * accepts, and nothing on the per-connection path takes a global lock),
 * and the list of its live sessions.  The main thread talks to a worker only through worker_post()
 * (atomic command bits plus a write to the worker's eventfd), so no event
 * base needs libevent's locks.  It does
 * not own signals or reload policy (daemon.c).
 */
#ifndef TLSBROKER_WORKER_H
#define TLSBROKER_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "log.h"

struct event;
struct event_base;
struct evdns_base;
struct evconnlistener;
struct gen;
struct listener_arg;
struct listener_set;
struct pool;
struct upstream_checker;
struct metrics_worker;
struct session;
struct http_exchange;

#define WORKER_CMD_DRAIN	0x1	/* stop accepting, exit when no session is left */
#define WORKER_CMD_ABORT	0x2	/* close every session now (drain deadline) */
#define WORKER_CMD_GEN		0x4	/* a new generation is published */
#define WORKER_CMD_PING		0x8	/* watchdog: answer ping_sent */
#define WORKER_CMD_UPLIMIT	0x10	/* a slot freed or an idle connection is wanted (upstream_limit.h) */
#define WORKER_CMD_BALANCE	0x20	/* a peer's connection count or accepting changed (listener.c) */

TAILQ_HEAD(session_list, session);

/* The pools of a replaced generation, kept for its sessions still running. */
struct retired_pools {
	struct pool *pools;	/* owned */
	unsigned count;
	struct gen *gen;	/* owned reference: the pools point into its conf */
};

struct worker {
	unsigned id;
	pthread_t thread;
	bool started;
	struct event_base *base;	/* owned */
	struct evdns_base *dns;		/* owned */
	int wake_fd;			/* owned: eventfd the main thread writes to */
	struct event *control_ev;	/* owned: runs worker commands when woken */
	struct event *heartbeat_ev;	/* owned: pool care, once a second */
	atomic_uint cmd;		/* WORKER_CMD_* bits posted by the main thread */
	struct gen *gen;		/* owned reference: the generation new sessions use */
	struct evconnlistener **lev;	/* owned, one per listener of gen */
	struct listener_arg *lev_args;	/* owned: listener.c's callback arguments, one per listener */
	unsigned nlev;
	struct metrics_worker *metrics;	/* not owned: this worker's counters */
	struct pool *pools;		/* owned: one per route of gen */
	unsigned npools;
	struct session_list sessions;	/* live sessions, not owned by the list */
	unsigned nsessions;
	unsigned max_sessions;		/* this worker's share of max_connections */
	bool accepting_paused;		/* at max_sessions or after EMFILE */
	atomic_bool balance_paused;	/* stepped aside: more connections than a peer (listener.c) */
	atomic_bool takes_conns;	/* listening and not paused for a limit: peers compare with it */
	struct worker *peers;		/* not owned: every worker, this one too (daemon.c's array) */
	unsigned npeers;
	struct event *resume_ev;	/* owned: re-enables accept after EMFILE */
	bool draining;
#define WORKER_EX_CACHE 32
	struct http_exchange *ex_cache[WORKER_EX_CACHE];	/* owned: recycled http exchanges */
	unsigned nex_cache;
	struct log_ratelimit unrouted_rl;	/* failure lines of connections without a route */
	atomic_uint_fast64_t ping_sent;	/* watchdog: last ping number posted by main */
	atomic_uint_fast64_t ping_seen;	/* watchdog: last ping number the loop answered */
	atomic_uint nconns;		/* nsessions, readable from the main thread */
	atomic_bool exited;		/* the loop has ended (drained) */
	atomic_uint *exit_counter;	/* not owned: incremented when the loop ends */
	int parent_wake_fd;		/* not owned: woken when the loop ends or a switch is done */
	/* reload: set by the main thread before it posts WORKER_CMD_GEN */
	struct gen *pending_gen;	/* a reference for this worker */
	const struct listener_set *pending_ls;
	atomic_uint *ack_counter;	/* not owned: incremented once switched */
	struct upstream_checker *checker;	/* owned: active health checks (worker 0 only) */
	struct retired_pools *retired;	/* owned: pools of older generations */
	unsigned nretired;
};

/*
 * Sets up w (base, resolver, listeners on the sockets of ls for gen).
 * Returns 0, or -1 with the reason logged.
 */
int worker_init(struct worker *w, unsigned id, struct gen *gen,
    const struct listener_set *ls, unsigned max_sessions);
int worker_start(struct worker *w);
void worker_post(struct worker *w, unsigned cmd);
/* Watchdog: posts ping n; worker_ping_answered() tells if the loop ran it. */
void worker_ping(struct worker *w, uint64_t n);
bool worker_ping_answered(struct worker *w);
void worker_join(struct worker *w);
void worker_free(struct worker *w);

/* Session bookkeeping, called by session.c on its worker's thread. */
void worker_session_add(struct worker *w, struct session *s);
void worker_session_del(struct worker *w, struct session *s);

/* An eventfd to wake a loop from another thread (-1 on failure), and the wake itself. */
int wake_fd_new(void);
void wake_fd_wake(int fd);
void wake_fd_drain(int fd);

/* A new event base set up for our I/O pattern; NULL on failure. */
struct event_base *worker_base_new(void);

/* upstream_limit's waker: arg is the array of workers (any thread). */
void worker_wake_uplimit(unsigned wid, void *workers);

/* A process-unique connection id. */
uint64_t worker_next_conn_id(void);

#endif
