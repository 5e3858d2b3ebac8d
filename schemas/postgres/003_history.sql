-- 003_history.sql - a binding says how much of its channel's history the copy
-- that searches read still lacks. A rebuilt channel turns 'active' after its
-- recent days (phase 1) are copied; until phase 2 has copied the rest, the
-- router answers searches on it as partial ("history_incomplete").
-- Applied once by migrate.sh inside a transaction.

ALTER TABLE channel_bindings
    ADD COLUMN history_from bigint NOT NULL DEFAULT 0 CHECK (history_from >= 0);
-- history_from: messages with id below it are not yet in the copy searches
-- read; 0 = the whole history is there.
