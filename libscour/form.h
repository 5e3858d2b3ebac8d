/*
 * form.h - decoding of URL paths and application/x-www-form-urlencoded query
 * strings (the router's request targets): %XX escapes, '+' as a space in a
 * query, and the split into key/value pairs. Pure functions over caller
 * memory, no allocation, fuzzed (tests/fuzz/fuzz_form.c).
 *
 * Not here: what the parameters mean (query.c), HTTP framing (router).
 */
#ifndef SC_FORM_H
#define SC_FORM_H

#include "query.h"
#include "sc.h"

#include <stddef.h>

/* Decode %XX escapes in s[0..n) in place (and '+' as a space when
 * plus_is_space) and NUL-terminate at the new length, which is returned
 * (s needs room for n + 1 bytes). A malformed escape is kept literally.
 * *ctl is set to 1 when the decoded text holds a control byte (0x00-0x1f or
 * 0x7f), else left alone. */
size_t sc_form_decode(char *s, size_t n, int plus_is_space, int *ctl);

/* Split the query string qs (the part after '?', NUL-terminated, decoded in
 * place) at '&' into out[0..cap): key and value point into qs; an empty
 * piece is skipped; a piece without '=' has the value "". Returns SC_OK with
 * *n pairs; SC_EINVAL when a decoded key or value holds a control byte (the
 * key, cut to keylen - 1 bytes, in bad_key); SC_ERR when there are more than
 * cap pairs. */
sc_status sc_form_split(char *qs, sc_query_param *out, size_t cap, size_t *n, char *bad_key,
                        size_t keylen) SC_MUST_USE;

#endif
