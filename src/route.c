/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "route.h"

/* placeholder: module not written yet */
int route_placeholder_unused;
int route_placeholder_unused;
