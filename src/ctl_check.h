/* SPDX-License-Identifier: BSD-2-Clause */
/* bitspoolctl check-config: the effective configuration, and whether the service user
 * can use every directory and the database it names. */
#ifndef BITSPOOL_CTL_CHECK_H
#define BITSPOOL_CTL_CHECK_H

#include "configuration.h"
#include "ctl_output.h"

/* Prints the settings (as the configuration file would say them, or as a table of
 * section, name and value for --json and --raw) and reports each problem on stderr.
 * Returns the exit status: 0, or 78 when there were problems. */
int ctl_check_config(const struct configuration *configuration, const char *path,
                     const struct ctl_output_options *output);

#endif
