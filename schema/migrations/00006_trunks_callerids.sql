-- +goose Up
-- campaigns: the trunk and caller id each attempt used. An attempt that failed on the
-- trunk (gateway down, congestion) is not charged to the contact: it is placed again, on
-- another trunk once the failing one's breaker opens, with the same attempt number.
ALTER TABLE attempts ADD COLUMN trunk text NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN caller_id text NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN charged boolean NOT NULL DEFAULT true;
ALTER TABLE attempts DROP CONSTRAINT attempts_lead_id_attempt_no_key;
CREATE UNIQUE INDEX attempts_lead_attempt_charged ON attempts (lead_id, attempt_no) WHERE charged;
CREATE INDEX attempts_caller_id_idx ON attempts (caller_id, started_at) WHERE caller_id <> '';

-- campaigns: caller-id pools. A campaign presents a number of its pool, chosen for local
-- presence (same region, then same area code as the callee), within each number's hourly
-- and daily caps and cooldown; a number whose answer rate collapses is retired.
CREATE TABLE caller_id_pools (
    id               bigserial PRIMARY KEY,
    name             text NOT NULL UNIQUE,
    hourly_cap       int  NOT NULL DEFAULT 0 CHECK (hourly_cap >= 0),
    daily_cap        int  NOT NULL DEFAULT 0 CHECK (daily_cap >= 0),
    cooldown_ms      int  NOT NULL DEFAULT 0 CHECK (cooldown_ms >= 0),
    min_answer_rate  double precision NOT NULL DEFAULT 0 CHECK (min_answer_rate >= 0 AND min_answer_rate <= 1),
    min_calls        int  NOT NULL DEFAULT 50 CHECK (min_calls > 0),
    created_at       timestamptz NOT NULL
);
CREATE TABLE caller_ids (
    id             bigserial PRIMARY KEY,
    pool_id        bigint NOT NULL REFERENCES caller_id_pools (id) ON DELETE CASCADE,
    number         text   NOT NULL CHECK (number ~ '^\+[1-9][0-9]{6,14}$'),
    region         text   NOT NULL DEFAULT '',
    area           text   NOT NULL DEFAULT '',
    retired_at     timestamptz,
    retired_reason text   NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    UNIQUE (pool_id, number)
);
ALTER TABLE campaigns ADD COLUMN caller_id_pool text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE campaigns DROP COLUMN caller_id_pool;
DROP TABLE caller_ids;
DROP TABLE caller_id_pools;
DROP INDEX attempts_caller_id_idx;
DROP INDEX attempts_lead_attempt_charged;
ALTER TABLE attempts ADD CONSTRAINT attempts_lead_id_attempt_no_key UNIQUE (lead_id, attempt_no);
ALTER TABLE attempts DROP COLUMN charged;
ALTER TABLE attempts DROP COLUMN caller_id;
ALTER TABLE attempts DROP COLUMN trunk;
