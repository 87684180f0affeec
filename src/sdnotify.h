/* SPDX-License-Identifier: MIT */
#ifndef TLSBROKER_SDNOTIFY_H
#define TLSBROKER_SDNOTIFY_H

extern int sdnotify_placeholder_unused;

#endif
