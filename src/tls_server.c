/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "tls_server.h"

/* placeholder: module not written yet */
int tls_server_placeholder_unused;
int tls_server_placeholder_unused;
