/* SPDX-License-Identifier: MIT */
/*
 * http_conn: the http mode of a session (session_http.c for now).
 */
#ifndef TLSBROKER_HTTP_CONN_H
#define TLSBROKER_HTTP_CONN_H

struct session_mode;

extern const struct session_mode http_mode;

#endif
