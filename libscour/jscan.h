/*
 * jscan.h - a tiny allocation-free JSON scanner for hot paths that only need
 * to recognise one common, well-formed shape (the indexer's events and
 * errors:false bulk responses). It never decides that input is invalid: when
 * anything is unusual (escapes beyond the simple ones, \u, long numbers, odd
 * nesting) a function returns -1 and the caller falls back to cJSON, which
 * decides with its full checks and messages.
 */
#ifndef SC_JSCAN_H
#define SC_JSCAN_H

#include <stddef.h>
#include <string.h>

#define SC_JS_MAX_DEPTH 64

typedef struct sc_jscan {
    const char *p;   /* next byte (borrowed from the caller's text) */
    const char *end; /* one past the last byte */
} sc_jscan;

/* Compare a scanned string (s, n) with a literal key. */
#define SC_JS_KEY(s, n, lit) ((n) == sizeof(lit) - 1 && memcmp((s), (lit), (n)) == 0)

/* Skip whitespace. */
void sc_js_ws(sc_jscan *j);
/* Consume c after optional whitespace; 0 on success, -1 otherwise. */
int sc_js_eat(sc_jscan *j, char c);
/* Next byte after whitespace, not consumed; -1 at the end. */
int sc_js_peek(sc_jscan *j);
/* A string: s and n get the raw bytes between the quotes (borrowed), *esc
 * is set when a (simple) backslash escape occurs. Raw control bytes, NUL and
 * \u escapes make it give up (-1). */
int sc_js_string(sc_jscan *j, const char **s, size_t *n, int *esc);
/* Consume the literal text lit (n bytes) after whitespace; 0 or -1. */
int sc_js_literal(sc_jscan *j, const char *lit, size_t n);
/* After a number or literal: 1 if the next byte ends the value. */
int sc_js_ended(const sc_jscan *j);
/* A number in JSON's grammar (sign, integer part without leading zeros,
 * optional fraction and exponent, at most 63 bytes), converted with strtod
 * as cJSON does; 0 or -1 (nothing consumed then). */
int sc_js_number(sc_jscan *j, double *out);
/* Open an object or array (open is '{' or '['): 1 when it is empty (closed
 * at once; both consumed), 0 when something follows the opening byte
 * (consumed), -1 when the next value does not start with open. */
int sc_js_open(sc_jscan *j, char open);
/* After a member or element of an object/array closed by close: 0 when a
 * ',' followed (consumed: another comes), 1 at close (consumed), -1 else. */
int sc_js_more(sc_jscan *j, char close);
/* Skip one value of any kind, up to SC_JS_MAX_DEPTH. */
int sc_js_skip(sc_jscan *j, int depth);

#endif
