-- 001_chat.sql - the chat service's tables that scour READS.
--
-- The chat service owns these tables and writes them; scour only reads them
-- (hydration of search hits, permission checks, reindex paging). The one
-- exception is the publisher CLI / tests, which play the chat service and
-- seed rows through libscour/db.c. See README.md for every column and for
-- the readability rule. Applied once by migrate.sh inside a transaction.

CREATE TABLE users (
    id   bigint PRIMARY KEY,           -- snowflake
    name text   NOT NULL DEFAULT ''    -- display name
);

CREATE TABLE guilds (
    id       bigint PRIMARY KEY,       -- snowflake
    name     text   NOT NULL DEFAULT '',
    owner_id bigint                    -- user id of the owner (informational)
);

-- Membership of a guild: the first gate of the readability rule.
CREATE TABLE guild_members (
    guild_id bigint NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
    user_id  bigint NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX guild_members_user_idx ON guild_members (user_id);

CREATE TABLE channels (
    id         bigint PRIMARY KEY,     -- snowflake
    guild_id   bigint REFERENCES guilds (id) ON DELETE CASCADE, -- NULL for DMs
    name       text   NOT NULL DEFAULT '',
    kind       text   NOT NULL DEFAULT 'text'
               CHECK (kind IN ('text', 'voice', 'announcement', 'forum', 'thread', 'dm', 'group_dm')),
    visibility text   NOT NULL DEFAULT 'public'
               CHECK (visibility IN ('public', 'private')),
    -- A DM (or group DM) is exactly a channel without a guild.
    CONSTRAINT channels_dm_has_no_guild CHECK ((kind IN ('dm', 'group_dm')) = (guild_id IS NULL))
);
CREATE INDEX channels_guild_idx ON channels (guild_id);

-- Explicit access: private guild channels and DM participants.
CREATE TABLE channel_members (
    channel_id bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX channel_members_user_idx ON channel_members (user_id);

-- Users explicitly denied a public guild channel.
CREATE TABLE channel_denies (
    channel_id bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);

-- Messages. No foreign key to channels: in production messages live in their
-- own store and may arrive (events, replays) before or after channel rows.
CREATE TABLE messages (
    id               bigint      PRIMARY KEY,   -- snowflake; creation time is in it
    channel_id       bigint      NOT NULL,
    guild_id         bigint,                    -- NULL for DMs
    author_id        bigint      NOT NULL,
    author_type      text        NOT NULL CHECK (author_type IN ('user', 'bot', 'webhook')),
    content          text        NOT NULL DEFAULT '',
    mentions         bigint[]    NOT NULL DEFAULT '{}',  -- mentioned user ids
    mention_everyone boolean     NOT NULL DEFAULT false,
    attachments      jsonb       NOT NULL DEFAULT '[]'   -- [{filename, content_type, size}]
                     CHECK (jsonb_typeof(attachments) = 'array'),
    embeds           jsonb       NOT NULL DEFAULT '[]'   -- [{type, provider, url}]
                     CHECK (jsonb_typeof(embeds) = 'array'),
    sticker_ids      bigint[]    NOT NULL DEFAULT '{}',
    pinned           boolean     NOT NULL DEFAULT false,
    version          bigint      NOT NULL DEFAULT 1 CHECK (version > 0), -- bumped on every edit/delete
    edited_at        timestamptz,                -- last edit, NULL if never edited
    deleted_at       timestamptz                 -- tombstone; NULL while the message exists
);
-- Keyset paging of one channel (reindex) and per-channel counts.
CREATE INDEX messages_channel_id_idx ON messages (channel_id, id);
