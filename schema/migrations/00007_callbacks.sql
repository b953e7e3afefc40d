-- +goose Up
-- campaigns: callbacks an agent promised. agent_id is the owner (NULL: any agent of the
-- campaign); due_at was given in the contact's time zone (zone). A callback is dialed with
-- its agent reserved first, even past the campaign's max_attempts, and is not dialed to a
-- number on a do-not-call list.
CREATE TABLE callbacks (
    id          bigserial PRIMARY KEY,
    campaign_id bigint      NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    lead_id     bigint      NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    agent_id    bigint      REFERENCES agents (id) ON DELETE SET NULL,
    due_at      timestamptz NOT NULL,
    zone        text        NOT NULL,
    state       text        NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled', 'dialing', 'done')),
    from_call   uuid,
    call_id     uuid,
    created_at  timestamptz NOT NULL
);
CREATE INDEX callbacks_due_idx ON callbacks (campaign_id, due_at) WHERE state = 'scheduled';
CREATE UNIQUE INDEX callbacks_one_per_lead ON callbacks (lead_id) WHERE state <> 'done';

-- +goose Down
DROP TABLE callbacks;
