-- +goose Up
-- ivr: flows as published, every version kept. A running call keeps the version it
-- started with; a new version affects the calls answered after it.
CREATE TABLE flows (
    id         text        NOT NULL,
    version    int         NOT NULL CHECK (version > 0),
    source     text        NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (id, version)
);

-- campaigns: the flow answered calls run (broadcast and press-1 campaigns).
ALTER TABLE campaigns ADD COLUMN flow text NOT NULL DEFAULT '';

-- attempts: the flow version a call ran, its path through it (the transitions, JSON), and
-- the recording it left.
ALTER TABLE attempts ADD COLUMN flow text NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN flow_version int;
ALTER TABLE attempts ADD COLUMN ivr_path jsonb;
ALTER TABLE attempts ADD COLUMN recording text NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN recording_ms bigint;

-- +goose Down
ALTER TABLE attempts DROP COLUMN recording_ms;
ALTER TABLE attempts DROP COLUMN recording;
ALTER TABLE attempts DROP COLUMN ivr_path;
ALTER TABLE attempts DROP COLUMN flow_version;
ALTER TABLE attempts DROP COLUMN flow;
ALTER TABLE campaigns DROP COLUMN flow;
DROP TABLE flows;
