/* SPDX-License-Identifier: MIT */
/*
 * daemon: the process around the workers: loading the first generation,
 * binding listeners, dropping privileges, starting workers, and the
 * signals: SIGTERM/SIGINT drain with a deadline, SIGHUP reload (build the
 * new generation completely, swap only if it all worked), SIGUSR1 reopen
 * the audit log; plus systemd notifications and the watchdog.  It does not
 * parse config (conf.c) or touch connections (worker.c, session.c).
 */
#ifndef TLSBROKER_DAEMON_H
#define TLSBROKER_DAEMON_H

/* `tlsbroker -t -c FILE`: returns the exit status (0 OK, 1 errors). */
int daemon_check(const char *path);

/* Runs the broker in the foreground until it is stopped; returns the exit status. */
int daemon_run(const char *path);

#endif
