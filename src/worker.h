/* SPDX-License-Identifier: MIT */
#ifndef TLSBROKER_WORKER_H
#define TLSBROKER_WORKER_H

extern int worker_placeholder_unused;

#endif
