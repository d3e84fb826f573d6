#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Turns a text file on stdin into a C source defining `const char NAME[]` with its
# contents, so that the schema has one source (sql/schema.sql) and no runtime lookup.
name="$1"
[ -n "$name" ] || { echo "usage: embed.sh NAME < FILE > FILE.c" >&2; exit 2; }
printf '/* Generated from sql/schema.sql by sql/embed.sh: do not edit. */\n'
printf '#include "schema.h"\n\nconst char %s[] =\n' "$name"
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/'
printf ';\n'
