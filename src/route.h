/* SPDX-License-Identifier: MIT */
#ifndef TLSBROKER_ROUTE_H
#define TLSBROKER_ROUTE_H

extern int route_placeholder_unused;

#endif
