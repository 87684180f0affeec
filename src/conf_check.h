/* SPDX-License-Identifier: MIT */
#ifndef TLSBROKER_CONF_CHECK_H
#define TLSBROKER_CONF_CHECK_H

extern int conf_check_placeholder_unused;

#endif
