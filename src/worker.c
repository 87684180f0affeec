/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "worker.h"

/* placeholder: module not written yet */
int worker_placeholder_unused;
int worker_placeholder_unused;
