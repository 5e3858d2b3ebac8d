/*
 * db_dm.c - the direct-message side of the permission queries: which DMs
 * and group DMs a user is a recipient of, for the router's search across
 * all of a user's DMs (GET /api/v1/users/@me/messages/search).
 *
 * A DM is a channel without a guild (schemas/postgres/001_chat.sql) and its
 * recipients are its channel_members rows: the DM half of the readability
 * rule of schemas/postgres/README.md, read through the
 * channel_members_user_idx index (one index range per user, however many
 * guilds they are in).
 * Not here: guild channels (db_chat.c, sc_db_readable_channels), caching
 * (router/perm.c).
 */
#include "db_int.h"

static const sc_db_stmt ST_DM_CHANNELS = {
    "sc_dm_channels", 1,
    "SELECT c.id FROM channel_members cm JOIN channels c ON c.id = cm.channel_id"
    " WHERE cm.user_id = $1::bigint AND c.guild_id IS NULL ORDER BY c.id"};

sc_status sc_db_dm_channels(sc_db *db, uint64_t user_id, uint64_t **out, size_t *n)
{
    idbuf u;
    const char *p[1] = {u64s(&u, user_id)};
    PGresult *r = NULL;
    sc_status st;
    *out = NULL;
    *n = 0;
    st = db_run(db, &ST_DM_CHANNELS, p, &r);
    if (st == SC_OK)
        st = rows_to_ids(db, r, out, n);
    PQclear(r);
    return st;
}
