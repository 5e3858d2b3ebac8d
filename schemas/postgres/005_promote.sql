-- 005_promote.sql - a reindex job may promote one channel to an index of its
-- own (docs/reindex.md, "Big channels"). Its target is "<channel_id>
-- shards=<N>", its to_cluster the cluster that gets the channel's index.
-- Applied once by migrate.sh inside a transaction.

ALTER TABLE reindex_jobs DROP CONSTRAINT IF EXISTS reindex_jobs_kind_check;
ALTER TABLE reindex_jobs ADD CONSTRAINT reindex_jobs_kind_check
    CHECK (kind IN ('channel', 'guild', 'cluster', 'all', 'promote'));
