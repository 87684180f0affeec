/* SPDX-License-Identifier: MIT */
#ifndef TLSBROKER_LISTENER_H
#define TLSBROKER_LISTENER_H

extern int listener_placeholder_unused;

#endif
