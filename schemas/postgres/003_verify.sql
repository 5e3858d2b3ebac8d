-- 003_verify.sql - verify's continuous sweep: when each channel was last
-- compared with its search index, and what was found. Written by the sweep
-- of `reindex worker` (libscour/db.c sc_db_verify_*); read by `reindex
-- status`. Applied once by migrate.sh inside a transaction.

CREATE TABLE channel_verifications (
    channel_id   bigint      PRIMARY KEY,
    verified_at  timestamptz,                       -- end of the last verification (NULL: never)
    claimed_at   timestamptz,                       -- a sweep is verifying it now (NULL: nobody)
    result       text        CHECK (result IN ('agree', 'drift', 'repaired', 'error')),
    drift_docs   bigint      NOT NULL DEFAULT 0,    -- missing + extra + stale + stale-copy docs found
    error        text                               -- reason when result = 'error'
);
-- The sweep takes the longest-unverified channels first.
CREATE INDEX channel_verifications_at_idx ON channel_verifications (verified_at);
