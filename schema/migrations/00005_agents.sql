-- +goose Up
-- campaigns: agent dial modes and the abandon rules of a campaign.
ALTER TABLE campaigns DROP CONSTRAINT campaigns_dial_mode_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_dial_mode_check
    CHECK (dial_mode IN ('broadcast', 'preview', 'progressive', 'predictive'));
-- A person who answers and has no agent within abandon_after_ms is abandoned: they hear
-- abandon_prompt and the call is written to the abandon ledger. The predictive pacing
-- spends up to abandon_target (never above abandon_hard_cap) of the answered calls.
ALTER TABLE campaigns ADD COLUMN abandon_after_ms int NOT NULL DEFAULT 2000 CHECK (abandon_after_ms > 0);
ALTER TABLE campaigns ADD COLUMN abandon_target double precision NOT NULL DEFAULT 0.03
    CHECK (abandon_target >= 0 AND abandon_target <= 1);
ALTER TABLE campaigns ADD COLUMN abandon_hard_cap double precision NOT NULL DEFAULT 0.03
    CHECK (abandon_hard_cap >= 0 AND abandon_hard_cap <= 1);
ALTER TABLE campaigns ADD COLUMN abandon_prompt text NOT NULL DEFAULT '';

-- campaigns: agents (seats). endpoints maps a node kind to the dial string that reaches
-- the agent's phone ({"freeswitch": "user/1001", "asterisk": "PJSIP/1001"}); node, when
-- set, is the media node the agent's phone is registered on. The live state is kept in
-- memory by the controller and written here after the fact.
CREATE TABLE agents (
    id             bigserial PRIMARY KEY,
    name           text        NOT NULL UNIQUE,
    team           text        NOT NULL DEFAULT '',
    department     text        NOT NULL DEFAULT '',
    endpoints      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    node           text        NOT NULL DEFAULT '',
    max_wrap_ms    int         NOT NULL DEFAULT 15000 CHECK (max_wrap_ms > 0),
    state          text        NOT NULL DEFAULT 'logged_out'
                   CHECK (state IN ('logged_out', 'ready', 'reserved', 'on_call', 'wrap_up', 'not_ready')),
    state_since    timestamptz NOT NULL,
    pause_reason   text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL
);

-- An agent serves campaigns by priority (1 first).
CREATE TABLE agent_campaigns (
    agent_id    bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    priority    int    NOT NULL DEFAULT 1 CHECK (priority > 0),
    PRIMARY KEY (agent_id, campaign_id)
);
CREATE INDEX agent_campaigns_campaign_idx ON agent_campaigns (campaign_id);

-- Which agent took an attempt, when it was bridged, the agent's disposition, and whether
-- the person who answered was abandoned.
ALTER TABLE attempts ADD COLUMN agent_id bigint REFERENCES agents (id) ON DELETE SET NULL;
ALTER TABLE attempts ADD COLUMN bridged_at timestamptz;
ALTER TABLE attempts ADD COLUMN abandoned boolean NOT NULL DEFAULT false;
ALTER TABLE attempts ADD COLUMN disposition text NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN notes text NOT NULL DEFAULT '';
CREATE INDEX attempts_answered_idx ON attempts (campaign_id, answered_at) WHERE answered_at IS NOT NULL;
CREATE INDEX attempts_agent_idx ON attempts (agent_id, started_at) WHERE agent_id IS NOT NULL;

-- A lead whose call was abandoned is not dialed again without an agent reserved first
-- before agent_only_until (72 h after the abandon).
ALTER TABLE leads ADD COLUMN agent_only_until timestamptz;

-- The abandon ledger: one row per abandoned call, append-only (the trigger refuses
-- UPDATE and DELETE; regulators ask for it as it was written).
CREATE TABLE abandons (
    id           bigserial PRIMARY KEY,
    campaign_id  bigint      NOT NULL REFERENCES campaigns (id),
    lead_id      bigint      NOT NULL,
    call_id      uuid        NOT NULL UNIQUE,
    phone        text        NOT NULL,
    answered_at  timestamptz NOT NULL,
    abandoned_at timestamptz NOT NULL,
    node         text        NOT NULL DEFAULT ''
);
CREATE INDEX abandons_campaign_at_idx ON abandons (campaign_id, abandoned_at);

-- +goose StatementBegin
CREATE FUNCTION abandons_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the abandon ledger is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER abandons_append_only BEFORE UPDATE OR DELETE ON abandons
    FOR EACH ROW EXECUTE FUNCTION abandons_append_only();

-- +goose Down
DROP TABLE abandons;
DROP FUNCTION abandons_append_only();
ALTER TABLE leads DROP COLUMN agent_only_until;
DROP INDEX attempts_agent_idx;
DROP INDEX attempts_answered_idx;
ALTER TABLE attempts DROP COLUMN notes;
ALTER TABLE attempts DROP COLUMN disposition;
ALTER TABLE attempts DROP COLUMN abandoned;
ALTER TABLE attempts DROP COLUMN bridged_at;
ALTER TABLE attempts DROP COLUMN agent_id;
DROP TABLE agent_campaigns;
DROP TABLE agents;
ALTER TABLE campaigns DROP COLUMN abandon_prompt;
ALTER TABLE campaigns DROP COLUMN abandon_hard_cap;
ALTER TABLE campaigns DROP COLUMN abandon_target;
ALTER TABLE campaigns DROP COLUMN abandon_after_ms;
ALTER TABLE campaigns DROP CONSTRAINT campaigns_dial_mode_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_dial_mode_check CHECK (dial_mode IN ('broadcast'));
