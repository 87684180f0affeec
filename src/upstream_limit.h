/* SPDX-License-Identifier: MIT */
/*
 * upstream_limit: the per-route cap on upstream connections
 * (upstream_max_connections) and its FIFO wait queue
 * (upstream_queue_max, upstream_queue_timeout), shared by every worker.
 *
 * A slot is one open upstream socket of the route: connecting, in use or
 * idle in a pool (a box that falls over at 20 sockets counts idle ones
 * too).  The slot count is one atomic; taking and giving back a slot is a
 * compare-and-swap, never a lock, and happens per new connection, not per
 * request.  A request that finds no slot waits in its own worker's queue
 * with a process-wide ticket, so the queue is FIFO over all workers: when
 * a slot frees, the worker holding the lowest ticket is woken (through
 * the waker the daemon registers: worker_post()) and hands it out from a
 * fresh loop turn.  When the cap is full of idle pooled connections, a
 * worker holding one is asked to close it (uplimit_shed_wanted()).
 *
 * Limits are kept by route id (the metrics registry's, so by name) for
 * the life of the process: a reload's new generation shares the counter
 * of the old one, and the old generation's live connections still count.
 * It does not open or pool connections (upstream.c, pool.c) nor answer
 * clients (session code).
 */
#ifndef TLSBROKER_UPSTREAM_LIMIT_H
#define TLSBROKER_UPSTREAM_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct tb_err;
struct uplimit;
struct uplimit_wait;

#define UPLIMIT_MAX_WORKERS	64	/* METRICS_MAX_WORKERS */

/*
 * A queued request's end, on its worker's thread, from a fresh loop
 * turn; the wait handle is already freed.  err is NULL when the caller
 * holds a slot now, else upstream_queue_timeout (the route named, the
 * keys in its hint).  waited_ms: the time in the queue.
 */
typedef void (*uplimit_cb)(void *arg, const struct tb_err *err,
    uint64_t waited_ms);

/* Wakes worker wid's loop so that it calls uplimit_run(); any thread. */
typedef void (*uplimit_waker)(unsigned wid, void *arg);

/* A limit's figures for /metrics. */
struct uplimit_stats {
	unsigned max;		/* 0 = unlimited */
	int64_t in_use;		/* slots held: connections open, of any generation */
	int64_t queued;		/* requests waiting now */
	uint64_t waits;		/* requests that waited, since start */
	uint64_t timeouts;	/* ... of which gave up after upstream_queue_timeout */
	uint64_t full;		/* refused: the queue was full */
};

/*
 * Main thread: the limit of route id (a metrics route id), created on
 * first use and kept until uplimit_free_all(); NULL if id is out of
 * range or memory ran out.  uplimit_configure() applies a generation's
 * values (the newest generation's win).
 */
struct uplimit *uplimit_for_route(int id);
void uplimit_configure(struct uplimit *l, unsigned max, unsigned queue_max,
    uint64_t queue_timeout_ms);
/* Main thread: figures of route id; false if the route has no limit. */
bool uplimit_stats(int id, struct uplimit_stats *st);
void uplimit_free_all(void);

/* A limit outside the registry (tests); uplimit_free() frees it. */
struct uplimit *uplimit_new(void);
void uplimit_free(struct uplimit *l);

/* Before workers start: how to wake worker 0 .. nworkers-1. */
void uplimit_set_waker(uplimit_waker fn, void *arg, unsigned nworkers);

/*
 * Takes a slot if one is free and nobody is queued (no barging past the
 * queue).  True: the caller holds it and must uplimit_release() it once
 * (upstream_connect() takes it over).  l == NULL is unlimited.
 */
bool uplimit_take(struct uplimit *l);
/* Gives a slot back; any thread.  Wakes the first waiter's worker. */
void uplimit_release(struct uplimit *l);
/* True if l caps its route (l may be NULL: no). */
bool uplimit_capped(struct uplimit *l);

/*
 * Gives back the slot of an upstream connection being closed, once the
 * endpoint has closed its side too: fd (owned; -1 = nothing to wait for)
 * is a duplicate of the connection's socket.  It sends a FIN and waits on
 * base for the endpoint's FIN or reset, at most UPLIMIT_CLOSE_WAIT_MS, so
 * an endpoint that counts its sockets has counted this one off before the
 * slot lets a new connection in.  Worker wid's thread.
 */
#define UPLIMIT_CLOSE_WAIT_MS 2000
void uplimit_release_closed(struct uplimit *l, unsigned wid,
    struct event_base *base, int fd);
/* Worker wid is exiting: closes what still waits for an endpoint's FIN. */
void uplimit_worker_exit(unsigned wid);

/*
 * True if requests wait for a slot of l: a connection that finished an
 * exchange is then closed rather than pooled, so its slot goes to the
 * oldest waiter of any worker.
 */
bool uplimit_queued(struct uplimit *l);

/*
 * Queues a request of worker wid for a slot of route's limit l, under l's
 * queue timeout, with its timer on base.  Returns the wait handle (owned
 * by the module, valid until cb runs or uplimit_cancel()), or NULL with
 * err filled (upstream_busy: the queue is full, or memory ran out).
 * route (the name, for messages) must outlive the wait.
 */
struct uplimit_wait *uplimit_wait(struct uplimit *l, unsigned wid,
    struct event_base *base, const char *route, uplimit_cb cb, void *arg,
    struct tb_err *err);
/* Leaves the queue without a callback (the client went away); NULL is a no-op. */
void uplimit_cancel(struct uplimit_wait *wt);

/* Worker wid, woken: hands free slots to its waiters whose turn it is. */
void uplimit_run(struct uplimit *l, unsigned wid);
/* Worker wid: true (once) if it should close one idle pooled connection of l. */
bool uplimit_shed_wanted(struct uplimit *l, unsigned wid);
/* Worker wid's count of idle pooled connections of l changed by delta. */
void uplimit_idle_add(struct uplimit *l, unsigned wid, int delta);

#endif
