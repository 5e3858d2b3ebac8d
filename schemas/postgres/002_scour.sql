-- 002_scour.sql - scour's own tables: channel -> cluster bindings and
-- reindex jobs with resumable cursors. scour owns and writes these; the chat
-- service never touches them. See README.md for every column.
-- Applied once by migrate.sh inside a transaction.

-- Where each channel's messages are indexed. Redis caches these rows; this
-- table is the source of truth. Writers change a row only by compare-and-set
-- on generation (libscour/db.c sc_db_binding_update).
CREATE TABLE channel_bindings (
    channel_id       bigint      PRIMARY KEY,
    cluster          text        NOT NULL,   -- cluster name as registered in etcd
    index_name       text        NOT NULL,   -- index on that cluster
    state            text        NOT NULL DEFAULT 'active'
                     CHECK (state IN ('active', 'building', 'moving')),
    previous_cluster text,                   -- where it was before the last move (NULL: never moved)
    previous_index   text,
    generation       integer     NOT NULL DEFAULT 1,  -- +1 on every update
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX channel_bindings_cluster_idx ON channel_bindings (cluster);

CREATE TABLE reindex_jobs (
    id            bigserial   PRIMARY KEY,
    kind          text        NOT NULL CHECK (kind IN ('channel', 'guild', 'cluster', 'all')),
    target        text,                      -- channel id, guild id or cluster name; NULL for 'all'
    to_cluster    text,                      -- destination cluster; NULL: rebuild in place
    state         text        NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    phase         integer     NOT NULL DEFAULT 1 CHECK (phase IN (1, 2)), -- 1 recent, 2 deep history
    recent_days   integer     NOT NULL DEFAULT 0 CHECK (recent_days >= 0),
    total         bigint      NOT NULL DEFAULT 0,  -- messages to write (estimate)
    done          bigint      NOT NULL DEFAULT 0,  -- messages written so far
    checkpoint_id bigint      NOT NULL DEFAULT 0,  -- last message id written (keyset cursor)
    error         text,                      -- reason when failed
    worker        text,                      -- who claimed it
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz                -- last sign of life of the worker
);
-- Claiming scans queued (and stale running) jobs in id order.
CREATE INDEX reindex_jobs_state_idx ON reindex_jobs (state, id);

-- Per-channel cursors so a multi-channel job resumes exactly where it stopped.
CREATE TABLE reindex_job_channels (
    job_id        bigint  NOT NULL REFERENCES reindex_jobs (id) ON DELETE CASCADE,
    channel_id    bigint  NOT NULL,
    phase         integer NOT NULL DEFAULT 1 CHECK (phase IN (1, 2)),
    checkpoint_id bigint  NOT NULL DEFAULT 0,  -- last message id written for this channel
    done          boolean NOT NULL DEFAULT false,
    PRIMARY KEY (job_id, channel_id)
);
