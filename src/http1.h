/* SPDX-License-Identifier: MIT */
#ifndef TLSBROKER_HTTP1_H
#define TLSBROKER_HTTP1_H

extern int http1_placeholder_unused;

#endif
