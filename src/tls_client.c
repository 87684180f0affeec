/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "tls_client.h"

/* placeholder: module not written yet */
int tls_client_placeholder_unused;
int tls_client_placeholder_unused;
