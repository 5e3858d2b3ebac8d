/*
 * query.h - the search router's request model: parse a Discord-shaped
 * message search request (decoded query-string pairs plus the user's "q"
 * syntax) into an sc_search_req, build the Elasticsearch query body for it,
 * and compute highlights for hydrated message bodies.
 *
 * Pure logic: no I/O, no globals. Not here: HTTP (router/), talking to
 * clusters (es.c), merging cluster answers (merge.c), auth (jwt.c).
 *
 * Safety contract: text the user types only ever reaches Elasticsearch as a
 * JSON string value inside match-type queries (multi_match, match,
 * match_phrase_prefix) and keyword values inside term/terms filters; never as
 * query_string, regexp, wildcard or script. Ids are emitted as JSON strings
 * so 64-bit snowflakes survive any JSON parser exactly (Elasticsearch coerces
 * them for long fields).
 */
#ifndef SC_QUERY_H
#define SC_QUERY_H

#include "buf.h"
#include "sc.h"

#include <stdint.h>

/* Request limits. */
#define SC_QUERY_MAX_PARAMS 64    /* parameters other than channel_id */
#define SC_QUERY_MAX_TEXT 1024    /* bytes of a content / q value */
#define SC_QUERY_MAX_KEYWORD 256  /* bytes of a hostname/filename/... value */
#define SC_QUERY_MAX_VALUE 64     /* bytes of any other value (ids, enums) */
#define SC_QUERY_MAX_TERMS 32     /* terms+phrases+prefixes+exclusions */
#define SC_QUERY_MAX_IDS 100      /* entries per id list (authors, mentions) */
#define SC_QUERY_MAX_KEYWORDS 32  /* entries per keyword list */
#define SC_QUERY_MAX_CHANNELS 500 /* default cap of channel_ids */
#define SC_QUERY_MAX_OFFSET 9975
#define SC_QUERY_MAX_LIMIT 25

/* Which endpoint the request came through. On the channel endpoint the
 * channel comes from the path, so channel_id / in: are rejected. On the DM
 * endpoint (every DM and group DM of the user) channel_id / in: narrow the
 * scope to some of the user's DMs, and the guild-only parameter
 * mention_everyone (@everyone exists only in guilds) is rejected. */
typedef enum sc_search_endpoint {
    SC_SEARCH_GUILD = 0,
    SC_SEARCH_CHANNEL = 1,
    SC_SEARCH_DMS = 2
} sc_search_endpoint;

/* One decoded query-string pair; both borrowed from the caller. */
typedef struct sc_query_param {
    const char *key;   /* e.g. "author_id" or "author_id[]" (same parameter) */
    const char *value; /* decoded value, NUL-terminated */
} sc_query_param;

/* Three-valued flag for optional booleans. */
typedef enum sc_tristate { SC_TRI_UNSET = -1, SC_TRI_FALSE = 0, SC_TRI_TRUE = 1 } sc_tristate;

typedef enum sc_sort_by { SC_SORT_TIMESTAMP = 0, SC_SORT_RELEVANCE = 1 } sc_sort_by;
typedef enum sc_sort_order { SC_ORDER_DESC = 0, SC_ORDER_ASC = 1 } sc_sort_order;

/* Bits of the "has" field (sc_search_req.has / not_has). */
enum {
    SC_HAS_LINK = 1 << 0,
    SC_HAS_EMBED = 1 << 1,
    SC_HAS_FILE = 1 << 2,
    SC_HAS_IMAGE = 1 << 3,
    SC_HAS_VIDEO = 1 << 4,
    SC_HAS_SOUND = 1 << 5,
    SC_HAS_STICKER = 1 << 6
};
#define SC_HAS_KINDS 7

/* Bits of author types: 1 << sc_author_type (user=1, bot=2, webhook=4). */
#define SC_AUTHOR_BIT(t) (1u << (t))

/* An owned list of owned strings. */
typedef struct sc_strlist {
    char **v; /* owned array of owned NUL-terminated strings */
    size_t n; /* entries used */
} sc_strlist;

/* An owned list of ids. */
typedef struct sc_idlist {
    uint64_t *v; /* owned array */
    size_t n;    /* entries used */
} sc_idlist;

/* Parser options; pass NULL for defaults. */
typedef struct sc_search_opts {
    size_t max_channel_ids; /* cap of channel_ids; 0 = SC_QUERY_MAX_CHANNELS */
} sc_search_opts;

/* A parsed search request. Created by sc_search_req_parse, freed with
 * sc_search_req_free. Lists keep the order the user gave, without
 * duplicates. */
typedef struct sc_search_req {
    sc_search_endpoint endpoint; /* endpoint it was parsed for */
    sc_strlist terms;            /* plain words (content/q), all must match */
    sc_strlist phrases;          /* "exact phrases", all must match */
    sc_strlist prefixes;         /* term* stems (without the '*') */
    sc_strlist not_terms;        /* -word: must not match */
    sc_strlist not_phrases;      /* -"phrase": must not match */
    sc_idlist author_ids;        /* author_id / from: (any of) */
    sc_idlist not_author_ids;    /* author_id=-ID / -from: (none of) */
    unsigned author_types;       /* SC_AUTHOR_BIT set: any of; 0 = no filter */
    unsigned not_author_types;   /* SC_AUTHOR_BIT set: none of */
    sc_idlist mentions;          /* mentions / mentions: (any of) */
    sc_tristate mention_everyone;
    unsigned has;          /* SC_HAS_* bits: each one must hold */
    unsigned not_has;      /* SC_HAS_* bits: none may hold */
    sc_idlist channel_ids; /* channel_id / in: (guild endpoint only) */
    uint64_t id_gte;       /* lower id bound, inclusive; 0 = none */
    uint64_t id_lt;        /* upper id bound, exclusive; valid if has_id_lt */
    int has_id_lt;         /* 1 when id_lt applies */
    sc_tristate pinned;
    sc_strlist link_hostnames;        /* lowercased; any of */
    sc_strlist attachment_extensions; /* lowercased, no leading dot; any of */
    sc_strlist attachment_filenames;  /* matched as text on .text; any of */
    sc_strlist embed_types;           /* as given; any of */
    sc_strlist embed_providers;       /* lowercased; any of */
    sc_sort_by sort_by;               /* default SC_SORT_TIMESTAMP */
    sc_sort_order sort_order;         /* default SC_ORDER_DESC */
    uint32_t offset;                  /* 0..SC_QUERY_MAX_OFFSET, default 0 */
    uint32_t limit;                   /* 1..SC_QUERY_MAX_LIMIT, default 25 */
    int include_context;              /* "context" / "include_context", default 0 */
} sc_search_req;

/*
 * Parse a request. Keys may repeat (list parameters) and may carry a "[]"
 * suffix. Known parameters: content, q, author_id, author_type, mentions,
 * mention_everyone, has, channel_id, min_id, max_id, pinned, link_hostname(s),
 * attachment_extension(s), attachment_filename(s), embed_type(s),
 * embed_provider(s), sort_by, sort_order, offset, limit, context,
 * include_context. min_id / max_id are exclusive ("after" / "before" that id).
 * q / content syntax: words, "phrases", -word, -"phrase", word*, and the
 * operators from: (ID or <@ID>), mentions: (ID or <@ID>), in: (ID or <#ID>),
 * has:, author_type:, pinned:, before:, after:, during: (YYYY-MM-DD, UTC);
 * from:, has: and author_type: may be negated with '-'. A "word:rest" whose
 * word is not an operator is an error unless rest starts with "//" (a URL).
 *
 * Returns SC_OK and *out (free with sc_search_req_free), or SC_EINVAL with a
 * message naming the parameter in err (e.g. "limit: must be between 1 and
 * 25"), or SC_ENOMEM. *out is NULL on failure.
 */
sc_status sc_search_req_parse(const sc_query_param *params, size_t n, sc_search_endpoint ep,
                              const sc_search_opts *opts, sc_search_req **out, char *err,
                              size_t errlen) SC_MUST_USE;

/* Release a request; NULL is a no-op. */
void sc_search_req_free(sc_search_req *r);

/*
 * Append the Elasticsearch _search body for r restricted to the n channels in
 * channel_ids (which the router has already checked for access; n >= 1),
 * asking for `size` hits from 0 (the router asks each cluster for
 * offset+limit and merges). Returns SC_OK, SC_EINVAL (no channels, size 0)
 * or SC_ENOMEM (out's cap hit; out may hold a partial body).
 */
sc_status sc_query_build(const sc_search_req *r, const uint64_t *channel_ids, size_t n, size_t size,
                         sc_buf *out) SC_MUST_USE;

/* One thing to highlight. */
typedef struct sc_hl_term {
    const char *text; /* borrowed (from the request); words or a phrase */
    int prefix;       /* 1: match text as a word prefix, extend to word end */
} sc_hl_term;

/* Fill out[0..max) with what to highlight for r (terms, phrases, prefixes;
 * not exclusions). Returns the number written. Pointers borrow from r. */
size_t sc_query_highlight_terms(const sc_search_req *r, sc_hl_term *out, size_t max);

/*
 * Append to out a JSON array of the distinct substrings of content matched by
 * any term, in order of first appearance, spelled as in content. Matching is
 * ASCII case-insensitive (other bytes exact); a term edge that is an ASCII
 * letter/digit must sit on a word boundary; whitespace in a phrase matches any
 * run of whitespace. At most 64 entries. Returns SC_OK or SC_ENOMEM.
 */
sc_status sc_highlight(const char *content, const sc_hl_term *terms, size_t n,
                       sc_buf *out) SC_MUST_USE;

#endif
