/*
 * states.h - the states of a channel binding and of a reindex job, as enums
 * with one name table each (X-macros, as twemproxy's codecs: the list below
 * gives the enum, its text and its parser at once).
 *
 * The text exists only at the storage boundaries: the PostgreSQL columns
 * (channel_bindings.state, reindex_jobs.state; db.c parses and prints them)
 * and the Redis binding cache (binding.c). Everywhere else code compares
 * enum values.
 */
#ifndef SC_STATES_H
#define SC_STATES_H

#include "sc.h"

/* X(enum name, text in PostgreSQL/Redis) */
#define SC_BINDING_STATE_LIST(X)                                                                \
    X(SC_BINDING_ACTIVE, "active")     /* indexed and searched at cluster/index */              \
    X(SC_BINDING_BUILDING, "building") /* being rebuilt at cluster/index; not searchable yet */ \
    X(SC_BINDING_MOVING, "moving")     /* written to cluster/index, read from prev_* until done */

#define SC_JOB_STATE_LIST(X)                                               \
    X(SC_JOB_QUEUED, "queued")       /* waiting for a worker */            \
    X(SC_JOB_RUNNING, "running")     /* claimed; the worker heartbeats */  \
    X(SC_JOB_DONE, "done")           /* finished */                        \
    X(SC_JOB_FAILED, "failed")       /* stopped on an error (resumable) */ \
    X(SC_JOB_CANCELLED, "cancelled") /* stopped by an operator */

#define SC_STATE_ENUM_(name, text) name,

typedef enum sc_binding_state {
    SC_BINDING_STATE_LIST(SC_STATE_ENUM_) SC_BINDING_STATE_COUNT
} sc_binding_state;

typedef enum sc_job_state { SC_JOB_STATE_LIST(SC_STATE_ENUM_) SC_JOB_STATE_COUNT } sc_job_state;

/* Text of a state ("active", "done", ...); "?" for a value outside the
 * enum. Static storage. */
const char *sc_binding_state_str(sc_binding_state s);
const char *sc_job_state_str(sc_job_state s);

/* Parse the text of a state into *out. SC_EINVAL (and *out untouched) for
 * NULL or any other text. */
sc_status sc_binding_state_parse(const char *s, sc_binding_state *out) SC_MUST_USE;
sc_status sc_job_state_parse(const char *s, sc_job_state *out) SC_MUST_USE;

/* Non-zero when s is one of the enum's values. */
int sc_binding_state_valid(sc_binding_state s);
int sc_job_state_valid(sc_job_state s);

#endif
