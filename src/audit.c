/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "audit.h"

/* placeholder: module not written yet */
int audit_placeholder_unused;
int audit_placeholder_unused;
