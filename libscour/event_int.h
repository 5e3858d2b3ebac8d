/*
 * event_int.h - limits the two event parsers share (event_parse.c's cJSON
 * path and event_fast.c's scanner), so both accept exactly the same events,
 * and the encoder (event.c) writes only what they accept.
 */
#ifndef SC_EVENT_INT_H
#define SC_EVENT_INT_H

#include "event.h"

#include <stdint.h>

/* Largest event text accepted (content is capped at 8 KiB; this leaves room
 * for 100 mentions, 20 attachments and 20 embeds with long urls). */
#define MAX_EVENT_BYTES (1u << 20)
/* Ids are Elasticsearch longs, so they must fit in an int64. */
#define MAX_ID ((uint64_t)INT64_MAX)
/* Per-string limits. They keep every keyword below Lucene's 32 KiB term
 * limit, so a document we build is never rejected by the mapping. */
#define MAX_FILENAME 1024
#define MAX_CONTENT_TYPE 255
#define MAX_EMBED_WORD 256 /* embed type and provider */
#define MAX_URL 8192
/* Largest integer a JSON number (a double) carries exactly and unambiguously
 * (2^53 - 1; "9007199254740993" would silently round to 2^53): the parser
 * refuses larger numbers, and the encoder writes larger versions as strings. */
#define MAX_EXACT_INT 9007199254740991LL

#endif
