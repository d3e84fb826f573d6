/* SPDX-License-Identifier: BSD-2-Clause */
/* Credentials: ask for a missing --user password on the terminal, without echo, and
 * take them out of an upload URL. */
#ifndef BITSPOOL_UPLOAD_CREDENTIALS_H
#define BITSPOOL_UPLOAD_CREDENTIALS_H

/* Replaces *user ("name") by "name:password" read from /dev/tty. Leaves a user that
 * already has a password alone. Returns 0, or -1 (no terminal, no memory). */
int credentials_complete(char **user);

/* Moves the "name:password@" of url into *user (when *user is NULL; a --user wins),
 * so that no message, JSON line or state file shows it, and blanks the password in
 * url itself (argv). Returns the URL without credentials as a new string, or NULL when
 * memory runs out or url is not a URL libcurl can parse (then nothing changed). */
char *credentials_from_url(char *url, char **user);

#endif
