/* SPDX-License-Identifier: MIT */
#ifndef TLSBROKER_TLS_CLIENT_H
#define TLSBROKER_TLS_CLIENT_H

extern int tls_client_placeholder_unused;

#endif
