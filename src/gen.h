/* SPDX-License-Identifier: MIT */
/*
 * gen: a configuration generation: the parsed conf plus every SSL_CTX built
 * from it (one tls_server per listener, one tls_client per TLS route).  A
 * generation is immutable once built and reference-counted: a session holds
 * the generation it started with, so a reload never changes a connection in
 * flight.  Building either succeeds completely or adds errors and returns
 * NULL, which is what lets a reload keep the old generation on a bad file.
 */
#ifndef TLSBROKER_GEN_H
#define TLSBROKER_GEN_H

#include <stdatomic.h>
#include <stdint.h>

struct conf;
struct conf_errors;
struct tls_client;
struct tls_server;

struct gen {
	atomic_uint refs;
	uint64_t id;			/* 1, 2, ... per build */
	struct conf *conf;		/* owned */
	struct tls_server **servers;	/* owned, one per listener */
	struct tls_client **clients;	/* owned, one per route; NULL for plain routes */
	int unrouted_metrics_id;	/* metrics id for exchanges that matched no route */
};

/* Takes ownership of conf (freed on failure too).  Returns a gen with one reference. */
struct gen *gen_build(struct conf *conf, struct conf_errors *errs);
struct gen *gen_ref(struct gen *g);
void gen_unref(struct gen *g);

/* Loads, checks and builds FILE: the -t path and the start/reload path. */
struct gen *gen_load(const char *path, struct conf_errors *errs);

#endif
