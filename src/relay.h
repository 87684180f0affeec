/* SPDX-License-Identifier: MIT */
#ifndef TLSBROKER_RELAY_H
#define TLSBROKER_RELAY_H

extern int relay_placeholder_unused;

#endif
