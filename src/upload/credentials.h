/* SPDX-License-Identifier: BSD-2-Clause */
/* --user without a password: ask for it on the terminal, without echo. */
#ifndef BITSPOOL_UPLOAD_CREDENTIALS_H
#define BITSPOOL_UPLOAD_CREDENTIALS_H

/* Replaces *user ("name") by "name:password" read from /dev/tty. Leaves a user that
 * already has a password alone. Returns 0, or -1 (no terminal, no memory). */
int credentials_complete(char **user);

#endif
