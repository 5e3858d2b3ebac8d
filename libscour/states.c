/* states.c - name tables of the binding and job state enums (states.h),
 * generated from the same X-macro lists as the enums. No state, no I/O. */
#include "states.h"

#include <string.h>

#define SC_STATE_TEXT_(name, text) text,

static const char *const binding_names[] = {SC_BINDING_STATE_LIST(SC_STATE_TEXT_)};
static const char *const job_names[] = {SC_JOB_STATE_LIST(SC_STATE_TEXT_)};

_Static_assert(sizeof binding_names / sizeof binding_names[0] == SC_BINDING_STATE_COUNT,
               "one name per binding state");
_Static_assert(sizeof job_names / sizeof job_names[0] == SC_JOB_STATE_COUNT,
               "one name per job state");

static const char *name_of(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : "?";
}

static int index_of(const char *const *names, int n, const char *s)
{
    for (int i = 0; s != NULL && i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

const char *sc_binding_state_str(sc_binding_state s)
{
    return name_of(binding_names, SC_BINDING_STATE_COUNT, (int)s);
}

const char *sc_job_state_str(sc_job_state s)
{
    return name_of(job_names, SC_JOB_STATE_COUNT, (int)s);
}

sc_status sc_binding_state_parse(const char *s, sc_binding_state *out)
{
    int i = index_of(binding_names, SC_BINDING_STATE_COUNT, s);
    if (i < 0)
        return SC_EINVAL;
    *out = (sc_binding_state)i;
    return SC_OK;
}

sc_status sc_job_state_parse(const char *s, sc_job_state *out)
{
    int i = index_of(job_names, SC_JOB_STATE_COUNT, s);
    if (i < 0)
        return SC_EINVAL;
    *out = (sc_job_state)i;
    return SC_OK;
}

int sc_binding_state_valid(sc_binding_state s)
{
    return (int)s >= 0 && (int)s < SC_BINDING_STATE_COUNT;
}

int sc_job_state_valid(sc_job_state s) { return (int)s >= 0 && (int)s < SC_JOB_STATE_COUNT; }
