/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "daemon.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin.h"
#include "audit.h"
#include "clock.h"
#include "conf.h"
#include "conf_check.h"
#include "gen.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "sdnotify.h"
#include "tls_client.h"
#include "tlsio.h"
#include "upstream_limit.h"
#include "worker.h"

struct daemon {
	const char *path;
	struct gen *gen;		/* owned: the current generation */
	struct listener_set ls;
	struct worker *workers;		/* owned array */
	unsigned nworkers;
	struct event_base *base;	/* owned: the main thread's loop */
	struct event *sigs[4];		/* owned */
	struct event *drain_ev;		/* owned: drain deadline */
	struct event *grace_ev;		/* owned: end of drain_grace, listeners close */
	int wake_fd;			/* owned: workers write here when they end or switch */
	struct event *wake_ev;		/* owned: reads wake_fd */
	struct event *watchdog_ev;	/* owned */
	struct event *status_ev;	/* owned: STATUS= every few seconds */
	struct admin *admin;		/* owned: /metrics and /healthz, NULL if none */
	uint64_t watchdog_tick;		/* pings posted so far */
	atomic_uint workers_done;
	bool draining;
	/* reload */
	atomic_uint acks;
	struct listener_set retired_ls;	/* sockets to close once every worker switched */
	bool reloading;
	unsigned reloads;		/* successful reloads */
};

/*
 * Configuration errors as they are, one a line; under journald at priority
 * err, so that `journalctl -p err` shows why a start or a reload failed.
 */
static void
print_errors(const struct conf_errors *errs)
{
	const char *prio = log_to_journal() ? "<3>" : "";
	unsigned i;

	for (i = 0; i < errs->count; i++)
		fprintf(stderr, "%s%s\n", prio, errs->msgs[i]);
}

/* Warns about settings that are allowed but weaken a route. */
static void
warn_config(const struct conf *conf)
{
	struct conf_errors warns = { 0 };
	unsigned i;

	conf_warnings(conf, &warns);
	for (i = 0; i < warns.count; i++)
		log_warnx("%s", warns.msgs[i]);
	conf_errors_free(&warns);
	for (i = 0; i < conf->nroutes; i++) {
		if (!conf->routes[i].up_tls.off &&
		    conf->routes[i].up_verify == VERIFY_OFF)
			log_warnx("[route %s] upstream_verify = off: the endpoint's "
			    "identity is NOT checked, anyone on the path can "
			    "impersonate it; prefer upstream_pin = sha256//...",
			    conf->routes[i].name);
	}
}

int
daemon_check(const char *path)
{
	struct conf_errors errs = { 0 };
	struct gen *g;

	log_init(LOG_LVL_INFO);
	if (tlsio_init() == -1) {
		fprintf(stderr, "tlsbroker: cannot initialise OpenSSL\n");
		return 1;
	}
	g = gen_load(path, &errs);
	print_errors(&errs);
	conf_errors_free(&errs);
	if (g == NULL)
		return 1;
	warn_config(g->conf);
	gen_unref(g);
	tls_client_cleanup();
	printf("configuration OK\n");
	return 0;
}

static unsigned
workers_auto(unsigned configured)
{
	long n;

	if (configured > 0)
		return configured;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

/* Raises the descriptor limit and derives the connection limit from it. */
static unsigned
max_connections(unsigned configured)
{
	struct rlimit rl;
	rlim_t derived;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return configured > 0 ? configured : 1000;
	rl.rlim_cur = rl.rlim_max;
	/* A refusal leaves the old limit, and that is what we must size by. */
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 &&
	    getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return configured > 0 ? configured : 1000;
	/* Two descriptors per connection, plus room for listeners and logs. */
	derived = rl.rlim_cur > 256 ? (rl.rlim_cur - 128) / 2 : 64;
	if (derived > 1000000)
		derived = 1000000;
	if (configured == 0)
		return (unsigned)derived;
	if (configured > derived)
		log_warnx("max_connections = %u exceeds what the descriptor "
		    "limit (%llu) allows; expect EMFILE under load", configured,
		    (unsigned long long)rl.rlim_cur);
	return configured;
}

static int
drop_privileges(const char *user)
{
	struct passwd *pw;

	if (user == NULL || geteuid() != 0)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_warnx("user %s: no such user", user);
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		log_warn("cannot drop privileges to %s", user);
		return -1;
	}
	if (setuid(0) != -1) {
		log_warnx("privileges could be regained after dropping them");
		return -1;
	}
	log_info("running as user %s", user);
	return 0;
}

/* Open client connections over all workers (a snapshot). */
static unsigned
daemon_connections(struct daemon *d)
{
	unsigned i, n = 0;

	for (i = 0; d->workers != NULL && i < d->nworkers; i++)
		n += atomic_load_explicit(&d->workers[i].nconns,
		    memory_order_relaxed);
	return n;
}

/* STATUS= for systemctl status: routes and open connections. */
static void
daemon_notify_status(struct daemon *d)
{
	sdnotifyf("STATUS=%s%u listeners, %u routes, %u workers, %u connections",
	    d->draining ? "draining: " : "", d->gen->conf->nlisteners,
	    d->gen->conf->nroutes, d->nworkers, daemon_connections(d));
}

/* The one-line status /healthz shows. */
static void
daemon_status(struct daemon *d, const char *what)
{
	char buf[256];

	if (d->admin == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s: %u listeners, %u routes, %u workers, "
	    "%u connections, %u reloads", what, d->gen->conf->nlisteners,
	    d->gen->conf->nroutes, d->nworkers, daemon_connections(d),
	    d->reloads);
	admin_set_status(d->admin, buf);
}

/* The drain proper: listeners close, open connections get drain_timeout. */
static void
daemon_close_listeners(struct daemon *d)
{
	const struct broker_conf *bc = &d->gen->conf->broker;
	unsigned i;

	log_notice("stopping: no new connections; draining open ones for up to %llu ms",
	    (unsigned long long)bc->drain_timeout_ms);
	for (i = 0; i < d->nworkers; i++)
		worker_post(&d->workers[i], WORKER_CMD_DRAIN);
	listener_set_stop(&d->ls);
	event_add_ms(d->drain_ev, bc->drain_timeout_ms);
}

static void
daemon_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	daemon_close_listeners(arg);
}

/*
 * SIGTERM: /readyz turns 503 at once, so a balancer or keepalived moves
 * traffic away, while the listeners keep accepting for drain_grace (the
 * time that takes); then they close and the drain runs.
 */
static void
daemon_drain(struct daemon *d)
{
	const struct broker_conf *bc = &d->gen->conf->broker;
	unsigned i;

	if (d->draining) {
		/* A second signal: do not wait any longer. */
		log_notice("second stop signal: closing every connection now");
		if (event_pending(d->grace_ev, EV_TIMEOUT, NULL)) {
			event_del(d->grace_ev);
			daemon_close_listeners(d);
		}
		for (i = 0; i < d->nworkers; i++)
			worker_post(&d->workers[i], WORKER_CMD_ABORT);
		return;
	}
	d->draining = true;
	admin_set_ready(d->admin, false);
	daemon_status(d, "stopping");
	sdnotify("STOPPING=1");
	if (bc->drain_grace_ms == 0) {
		daemon_close_listeners(d);
		return;
	}
	log_notice("stopping: /readyz answers 503; listeners close in %llu ms "
	    "(drain_grace)", (unsigned long long)bc->drain_grace_ms);
	event_add_ms(d->grace_ev, bc->drain_grace_ms);
}

static void
daemon_drain_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	unsigned i;

	(void)fd;
	(void)what;
	log_notice("drain_timeout passed: closing the remaining connections");
	for (i = 0; i < d->nworkers; i++)
		worker_post(&d->workers[i], WORKER_CMD_ABORT);
}

static void daemon_ack_cb(struct daemon *d);

/* A worker woke us: it finished its loop, or switched generation. */
static void
daemon_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	wake_fd_drain(fd);
	daemon_ack_cb(d);
	if (atomic_load(&d->workers_done) >= d->nworkers)
		event_base_loopexit(d->base, NULL);
}

/* Every worker runs the new generation: close the sockets nobody uses now. */
static void
daemon_ack_cb(struct daemon *d)
{
	if (!d->reloading || atomic_load(&d->acks) < d->nworkers)
		return;
	d->reloading = false;
	listener_set_close(&d->retired_ls);
	log_notice("reload %u done: %u listeners, %u routes", d->reloads,
	    d->gen->conf->nlisteners, d->gen->conf->nroutes);
	sdnotifyf("READY=1\nSTATUS=%u listeners, %u routes, %u workers, "
	    "%u connections (reload %u)", d->gen->conf->nlisteners,
	    d->gen->conf->nroutes, d->nworkers, daemon_connections(d),
	    d->reloads);
	daemon_status(d, "running");
}

/* Tells what a reload cannot change, so nobody waits for it to happen. */
static void
reload_warn_static(const struct broker_conf *old, const struct broker_conf *new)
{
	if (old->workers != new->workers)
		log_warnx("reload: workers changed; it takes effect on restart");
	if (old->admin_set != new->admin_set ||
	    old->admin.port != new->admin.port ||
	    strcmp(old->admin.host, new->admin.host) != 0)
		log_warnx("reload: admin changed; it takes effect on restart");
	if (old->max_connections != new->max_connections)
		log_warnx("reload: max_connections changed; it takes effect on restart");
	if ((old->user == NULL) != (new->user == NULL) ||
	    (old->user != NULL && strcmp(old->user, new->user) != 0))
		log_warnx("reload: user changed; it takes effect on restart");
}

/*
 * SIGHUP: parse, check and build the new generation completely; if any
 * of it fails the old one keeps running and the reason is logged and put
 * in STATUS=.  Otherwise workers switch: new connections and requests use
 * the new generation, connections in flight finish on theirs.
 */
static void
daemon_reload(struct daemon *d)
{
	struct conf_errors errs = { 0 };
	struct listener_set new_ls = { 0 };
	const struct broker_conf *nb;
	struct gen *g;
	unsigned i;

	if (d->draining)
		return;
	if (d->reloading) {
		log_warnx("SIGHUP: the previous reload is still switching workers; ignored");
		return;
	}
	sdnotify("RELOADING=1");
	log_notice("SIGHUP: reloading %s", d->path);
	g = gen_load(d->path, &errs);
	if (g != NULL && listener_set_rebind(&new_ls, &d->ls, g->conf,
	    d->gen->conf, &errs) == -1) {
		gen_unref(g);
		g = NULL;
	}
	if (g == NULL) {
		for (i = 0; i < errs.count; i++)
			log_warnx("reload failed: %s", errs.msgs[i]);
		log_warnx("reload failed: the previous configuration keeps running");
		sdnotifyf("READY=1\nSTATUS=reload failed, previous configuration running: %s",
		    errs.count > 0 ? errs.msgs[0] : "see the log");
		daemon_status(d, "running (last reload failed: see the log)");
		conf_errors_free(&errs);
		return;
	}
	conf_errors_free(&errs);
	nb = &g->conf->broker;
	reload_warn_static(&d->gen->conf->broker, nb);
	warn_config(g->conf);
	log_set_level(nb->log_level);
	if ((nb->audit_log == NULL) != (d->gen->conf->broker.audit_log == NULL) ||
	    (nb->audit_log != NULL &&
	    strcmp(nb->audit_log, d->gen->conf->broker.audit_log) != 0)) {
		if (audit_open(nb->audit_log) == -1)
			log_warn("reload: cannot open audit_log %s; keeping the old one",
			    nb->audit_log);
	}
	/* Sockets not taken over close once every worker has let go of them. */
	d->retired_ls = d->ls;
	d->ls = new_ls;
	gen_unref(d->gen);
	d->gen = g;
	admin_set_gen(d->admin, g);
	d->reloads++;
	d->reloading = true;
	atomic_store(&d->acks, 0);
	for (i = 0; i < d->nworkers; i++) {
		d->workers[i].pending_gen = gen_ref(g);
		d->workers[i].pending_ls = &d->ls;
		worker_post(&d->workers[i], WORKER_CMD_GEN);
	}
}

static void
daemon_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		daemon_drain(d);
		break;
	case SIGHUP:
		daemon_reload(d);
		break;
	case SIGUSR1:
		if (audit_reopen() == -1)
			log_warn("SIGUSR1: cannot reopen the audit log");
		else
			log_info("SIGUSR1: audit log reopened");
		break;
	}
}

/*
 * WATCHDOG=1 only while every worker's loop keeps turning: each tick posts
 * a ping to every worker and pings systemd only if all of them answered
 * the previous one.  A worker that drained and exited counts as answered.
 */
static void
daemon_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	unsigned i, stuck = 0;

	(void)fd;
	(void)what;
	for (i = 0; i < d->nworkers; i++)
		if (d->workers[i].started && !worker_ping_answered(&d->workers[i]))
			stuck++;
	if (stuck == 0)
		sdnotify("WATCHDOG=1");
	else
		log_warnx("%u worker loop(s) did not answer within %llu ms: "
		    "withholding the watchdog ping", stuck,
		    (unsigned long long)(sdnotify_watchdog_ms() / 3));
	d->watchdog_tick++;
	for (i = 0; i < d->nworkers; i++)
		if (d->workers[i].started)
			worker_ping(&d->workers[i], d->watchdog_tick);
}

static void
daemon_status_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	daemon_notify_status(arg);
}

static int
daemon_setup_events(struct daemon *d)
{
	static const int sigs[4] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	uint64_t wd;
	unsigned i;

	for (i = 0; i < 4; i++) {
		d->sigs[i] = evsignal_new(d->base, sigs[i], daemon_signal_cb, d);
		if (d->sigs[i] == NULL || event_add(d->sigs[i], NULL) == -1)
			return -1;
	}
	d->drain_ev = evtimer_new(d->base, daemon_drain_deadline_cb, d);
	if ((d->grace_ev = evtimer_new(d->base, daemon_grace_cb, d)) == NULL)
		return -1;

	if ((d->wake_fd = wake_fd_new()) == -1)
		return -1;
	d->wake_ev = event_new(d->base, d->wake_fd, EV_READ | EV_PERSIST,
	    daemon_wake_cb, d);
	if (d->drain_ev == NULL || d->wake_ev == NULL ||
	    event_add(d->wake_ev, NULL) == -1)
		return -1;
	if (getenv("NOTIFY_SOCKET") != NULL) {
		d->status_ev = event_new(d->base, -1, EV_PERSIST,
		    daemon_status_cb, d);
		if (d->status_ev == NULL || event_add_ms(d->status_ev, 5000) == -1)
			return -1;
	}
	if ((wd = sdnotify_watchdog_ms()) > 0) {
		/* Ping at a third of the interval: two misses are still in time. */
		wd /= 3;
		d->watchdog_ev = event_new(d->base, -1, EV_PERSIST,
		    daemon_watchdog_cb, d);
		if (d->watchdog_ev == NULL || event_add_ms(d->watchdog_ev, wd) == -1)
			return -1;
	}
	return 0;
}

static int
daemon_start_workers(struct daemon *d, unsigned max_conns)
{
	sigset_t all, old;
	unsigned i, share;
	int r = 0;

	share = max_conns / d->nworkers;
	for (i = 0; i < d->nworkers; i++) {
		if (worker_init(&d->workers[i], i, d->gen, &d->ls, share) == -1)
			return -1;
		d->workers[i].exit_counter = &d->workers_done;
		d->workers[i].parent_wake_fd = d->wake_fd;
		d->workers[i].ack_counter = &d->acks;
		d->workers[i].peers = d->workers;	/* listener.c balances over them */
		d->workers[i].npeers = d->nworkers;
	}
	uplimit_set_waker(worker_wake_uplimit, d->workers, d->nworkers);
	/* Workers never take signals: the main loop handles them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < d->nworkers && r == 0; i++)
		r = worker_start(&d->workers[i]);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

static void
daemon_cleanup(struct daemon *d)
{
	unsigned i;

	for (i = 0; d->workers != NULL && i < d->nworkers; i++)
		worker_join(&d->workers[i]);
	for (i = 0; d->workers != NULL && i < d->nworkers; i++)
		worker_free(&d->workers[i]);
	free(d->workers);
	listener_set_close(&d->ls);
	listener_set_close(&d->retired_ls);
	for (i = 0; i < 4; i++)
		if (d->sigs[i] != NULL)
			event_free(d->sigs[i]);
	if (d->drain_ev != NULL)
		event_free(d->drain_ev);
	if (d->grace_ev != NULL)
		event_free(d->grace_ev);
	if (d->wake_ev != NULL)
		event_free(d->wake_ev);
	if (d->wake_fd != -1)
		close(d->wake_fd);
	if (d->watchdog_ev != NULL)
		event_free(d->watchdog_ev);
	if (d->status_ev != NULL)
		event_free(d->status_ev);
	admin_stop(d->admin);
	if (d->base != NULL)
		event_base_free(d->base);
	gen_unref(d->gen);
	metrics_free();
	uplimit_free_all();
	audit_close();
	tls_client_cleanup();
}

int
daemon_run(const char *path)
{
	struct daemon d;
	struct conf_errors errs = { 0 };
	const struct broker_conf *bc;
	unsigned max_conns;
	int status = 1;

	sigset_t ctl, oldmask;

	/*
	 * Hold the control signals until their handlers exist: a SIGHUP that
	 * arrives while the config loads must not kill the process.
	 */
	sigemptyset(&ctl);
	sigaddset(&ctl, SIGHUP);
	sigaddset(&ctl, SIGTERM);
	sigaddset(&ctl, SIGINT);
	sigaddset(&ctl, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &ctl, &oldmask);
	memset(&d, 0, sizeof(d));
	d.wake_fd = -1;
	d.path = path;
	atomic_init(&d.workers_done, 0);
	atomic_init(&d.acks, 0);
	log_init(LOG_LVL_INFO);
	signal(SIGPIPE, SIG_IGN);
	/* A file size limit must fail the audit write (EFBIG), not kill us. */
	signal(SIGXFSZ, SIG_IGN);
	/*
	 * No evthread_use_pthreads(): each event base is touched by its own
	 * thread only, and threads wake each other through eventfds, so
	 * libevent needs no locks on the hot path.
	 */
	if (tlsio_init() == -1)
		fatalx("cannot initialise OpenSSL");
	d.gen = gen_load(path, &errs);
	if (d.gen == NULL) {
		print_errors(&errs);
		conf_errors_free(&errs);
		return 1;
	}
	bc = &d.gen->conf->broker;
	log_set_level(bc->log_level);
	warn_config(d.gen->conf);
	d.nworkers = workers_auto(bc->workers);
	max_conns = max_connections(bc->max_connections);
	if (listener_set_bind(&d.ls, d.gen->conf, d.nworkers, &errs) == -1) {
		print_errors(&errs);
		goto out;
	}
	if (audit_open(bc->audit_log) == -1) {
		log_warn("cannot open audit_log %s", bc->audit_log);
		goto out;
	}
	if ((d.base = worker_base_new()) == NULL ||
	    (d.workers = calloc(d.nworkers, sizeof(*d.workers))) == NULL ||
	    daemon_setup_events(&d) == -1) {
		log_warnx("cannot set up the main loop");
		goto out;
	}
	if (bc->admin_set) {
		char err[256];

		d.admin = admin_start(d.base, bc->admin.host, bc->admin.port,
		    d.nworkers, err, sizeof(err));
		if (d.admin == NULL) {
			log_warnx("%s", err);
			goto out;
		}
		admin_set_gen(d.admin, d.gen);
	}
	/* Sockets bound and keys read: nothing needs root any more. */
	if (drop_privileges(bc->user) == -1)
		goto out;
	if (daemon_start_workers(&d, max_conns) == -1)
		goto out;
	log_notice("ready: %u listeners, %u routes, %u workers, max_connections %u",
	    d.gen->conf->nlisteners, d.gen->conf->nroutes, d.nworkers, max_conns);
	sdnotifyf("READY=1\nSTATUS=%u listeners, %u routes, %u workers, 0 connections",
	    d.gen->conf->nlisteners, d.gen->conf->nroutes, d.nworkers);
	daemon_status(&d, "running");
	admin_set_ready(d.admin, true);
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	event_base_loop(d.base, EVLOOP_NO_EXIT_ON_EMPTY);
	log_notice("stopped");
	status = 0;
out:
	if (status != 0 && d.workers != NULL) {
		unsigned i;

		for (i = 0; i < d.nworkers; i++)
			if (d.workers[i].started)
				worker_post(&d.workers[i], WORKER_CMD_DRAIN |
				    WORKER_CMD_ABORT);
	}
	conf_errors_free(&errs);
	daemon_cleanup(&d);
	return status;
}
