#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mod_fcgid wrapper (see bitspool-fcgid.htaccess): runs bitspool with its
# configuration, since mod_fcgid does not pass SetEnv variables to the programs it
# starts. exec keeps the listening socket mod_fcgid gives on fd 0.
exec /home/USER/bitspool/bitspool -f /home/USER/bitspool/bitspool.conf
