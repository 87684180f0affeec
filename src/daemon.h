/* SPDX-License-Identifier: MIT */
#ifndef TLSBROKER_DAEMON_H
#define TLSBROKER_DAEMON_H

extern int daemon_placeholder_unused;

#endif
