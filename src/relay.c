/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "relay.h"

/* placeholder: module not written yet */
int relay_placeholder_unused;
int relay_placeholder_unused;
