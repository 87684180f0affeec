/* SPDX-License-Identifier: MIT */
#ifndef TLSBROKER_TLS_SERVER_H
#define TLSBROKER_TLS_SERVER_H

extern int tls_server_placeholder_unused;

#endif
