/* SPDX-License-Identifier: BSD-2-Clause */
/* The columns of bitspoolctl's listings (sessions, show, events, hooks) and the ones each
 * prints by default. Their names are what -o selects and what scripts read as JSON keys
 * (docs/operations.md): an interface, kept in this one file. */
#ifndef BITSPOOL_CTL_COLUMNS_H
#define BITSPOOL_CTL_COLUMNS_H

#include "ctl_output.h"

/* The index of each column in its listing's cells. */
enum ctl_session_column {
    SC_ID, SC_STATE, SC_OWNER, SC_ADDRESS, SC_HELD, SC_TOTAL, SC_PERCENT, SC_RATE, SC_IDLE,
    SC_CREATED, SC_PROGRESS, SC_FINISHED, SC_URL, SC_PREFIX, SC_DESTINATION, SC_NAME,
    SC_AGENT, SC_JOB, SC_REPLY_URL, SC_NOTIFY, SC_SHA256, SC_COUNT
};

enum ctl_event_column {
    EC_TIME, EC_SESSION, EC_PACKET, EC_STATUS, EC_HRESULT, EC_ERROR, EC_RANGE, EC_BYTES,
    EC_HELD, EC_ADDRESS, EC_OWNER, EC_MESSAGE, EC_COUNT
};

enum ctl_hook_column {
    HC_ID, HC_STATE, HC_KIND, HC_ATTEMPTS, HC_DUE, HC_RESULT, HC_DURATION, HC_SESSION,
    HC_PATH, HC_SIZE, HC_SHA256, HC_TARGET, HC_CREATED, HC_FINISHED, HC_COUNT
};

/* sessions prints the columns a listing needs, show every one, the session's file first. */
extern const struct ctl_columns session_list_columns;
extern const struct ctl_columns session_show_columns;
extern const struct ctl_columns event_list_columns;
extern const struct ctl_columns hook_list_columns;

#endif
