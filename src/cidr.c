/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "cidr.h"

/* placeholder: module not written yet */
int cidr_placeholder_unused;
int cidr_placeholder_unused;
