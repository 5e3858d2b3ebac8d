-- 004_history.sql - a binding says how much of its channel's history the copy
-- that searches read still lacks. A rebuilt channel turns 'active' after its
-- recent days (phase 1) are copied; until phase 2 has copied the rest, the
-- router answers searches on it as partial ("history_incomplete").
-- Applied once by migrate.sh inside a transaction.

ALTER TABLE channel_bindings
    ADD COLUMN history_from bigint NOT NULL DEFAULT 0 CHECK (history_from >= 0);
-- history_from: messages with id below it are not yet in the copy searches
-- read; 0 = the whole history is there.

-- Per-channel progress of a job, so that a scope's documents_indexed is the
-- sum over its channels (a guild job's counter covers every channel).
ALTER TABLE reindex_job_channels
    ADD COLUMN copied bigint NOT NULL DEFAULT 0,  -- rows of this channel copied by the job (all runs)
    ADD COLUMN total  bigint NOT NULL DEFAULT 0;  -- rows of this channel when the job (last) started
