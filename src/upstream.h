/* SPDX-License-Identifier: MIT */
#ifndef TLSBROKER_UPSTREAM_H
#define TLSBROKER_UPSTREAM_H

extern int upstream_placeholder_unused;

#endif
