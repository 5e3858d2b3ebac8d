/*
 * esdoc.h - the Elasticsearch document of a message: the JSON object an
 * indexer or reindex bulk line carries, in the shape of
 * schemas/elasticsearch/messages.json.
 *
 * Not here: the bulk framing (bulk.h), the event codec (event.h).
 */
#ifndef SC_ESDOC_H
#define SC_ESDOC_H

#include "buf.h"
#include "message.h"
#include "sc.h"

/* Append the Elasticsearch document for m (one JSON object, no newline):
 * ids as numbers, content, derived has[] flags, link_hostnames (each host and
 * its parent domains down to two labels), attachment filenames/extensions,
 * embed types/providers, version, deleted, timestamp (ms). A deleted message
 * becomes a tombstone document {id, channel_id, guild_id?, author_id?, timestamp, version,
 * deleted:true}. SC_EINVAL for NULL arguments, SC_ENOMEM when out is full
 * (out then unchanged). */
sc_status sc_message_to_doc(const sc_message *m, sc_buf *out) SC_MUST_USE;

#endif
