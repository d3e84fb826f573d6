/* SPDX-License-Identifier: BSD-2-Clause */
/* JSON string escaping, the one copy for the server and the client. */
#include "json_string.h"

void json_string_write(FILE *out, const char *text)
{
    if (text == NULL) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *cursor = (const unsigned char *)text; *cursor != '\0'; cursor++) {
        if (*cursor == '"' || *cursor == '\\')
            fprintf(out, "\\%c", *cursor);
        else if (*cursor < 0x20 || *cursor == 0x7f)
            fprintf(out, "\\u%04x", *cursor);
        else
            fputc(*cursor, out);
    }
    fputc('"', out);
}
