/* SPDX-License-Identifier: MIT */
#ifndef TLSBROKER_SESSION_H
#define TLSBROKER_SESSION_H

extern int session_placeholder_unused;

#endif
