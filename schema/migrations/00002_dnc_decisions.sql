-- +goose Up

-- campaigns: do-not-call entries. campaign_id NULL is the global list; otherwise the
-- entry applies to that campaign only. An entry with expires_at in the past is inactive.
CREATE TABLE dnc_entries (
    id          bigserial PRIMARY KEY,
    campaign_id bigint      REFERENCES campaigns (id) ON DELETE CASCADE,
    phone       text        NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    source      text        NOT NULL DEFAULT '',
    note        text        NOT NULL DEFAULT '',
    expires_at  timestamptz,
    created_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX dnc_entries_scope_phone ON dnc_entries (coalesce(campaign_id, 0), phone);
CREATE INDEX dnc_entries_phone ON dnc_entries (phone);

-- campaigns: why each lead was dialed or skipped, one row per decision.
CREATE TABLE decisions (
    id          bigserial PRIMARY KEY,
    campaign_id bigint      NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    lead_id     bigint      NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    action      text        NOT NULL CHECK (action IN ('dial', 'skip')),
    reason      text        NOT NULL,
    call_id     uuid
);
CREATE INDEX decisions_lead_idx ON decisions (lead_id, id);
CREATE INDEX decisions_campaign_idx ON decisions (campaign_id, action, reason);

ALTER TABLE leads DROP CONSTRAINT leads_status_check;
ALTER TABLE leads ADD CONSTRAINT leads_status_check
    CHECK (status IN ('pending', 'dialing', 'answered', 'exhausted', 'invalid', 'dnc'));

-- +goose Down
ALTER TABLE leads DROP CONSTRAINT leads_status_check;
ALTER TABLE leads ADD CONSTRAINT leads_status_check
    CHECK (status IN ('pending', 'dialing', 'answered', 'exhausted', 'invalid'));
DROP TABLE decisions;
DROP TABLE dnc_entries;
