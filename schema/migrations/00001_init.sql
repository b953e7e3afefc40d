-- +goose Up

-- crm: a person or company callplane may call. Custom columns of an import are kept in
-- fields (JSONB); the phone is E.164.
CREATE TABLE contacts (
    id          bigserial PRIMARY KEY,
    phone       text        NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    name        text        NOT NULL DEFAULT '',
    fields      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL
);
CREATE INDEX contacts_phone_idx ON contacts (phone);

-- campaigns: one dialing job with its pacing limits.
CREATE TABLE campaigns (
    id                   bigserial PRIMARY KEY,
    name                 text        NOT NULL,
    dial_mode            text        NOT NULL CHECK (dial_mode IN ('broadcast')),
    state                text        NOT NULL DEFAULT 'draft'
                         CHECK (state IN ('draft', 'running', 'paused', 'stopped', 'completed')),
    max_concurrent       int         NOT NULL CHECK (max_concurrent > 0),
    calls_per_second     double precision NOT NULL CHECK (calls_per_second > 0),
    max_attempts         int         NOT NULL CHECK (max_attempts > 0),
    retry_after_seconds  int         NOT NULL CHECK (retry_after_seconds >= 0),
    ring_timeout_seconds int         NOT NULL DEFAULT 30 CHECK (ring_timeout_seconds > 0),
    media_pool           text        NOT NULL DEFAULT 'default',
    prompt               text        NOT NULL DEFAULT '',
    caller_id            text        NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);

-- campaigns: a contact's number in one campaign, the unit the hopper leases.
-- status: pending (due at next_attempt_at) -> dialing (leased, one attempt in flight)
-- -> pending again for a retry, or a final state: answered, exhausted, invalid.
CREATE TABLE leads (
    id              bigserial PRIMARY KEY,
    campaign_id     bigint      NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    contact_id      bigint      NOT NULL REFERENCES contacts (id),
    phone           text        NOT NULL,
    import_line     int,
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'dialing', 'answered', 'exhausted', 'invalid')),
    attempts        int         NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL,
    last_outcome    text,
    lease_owner     text,
    updated_at      timestamptz NOT NULL,
    UNIQUE (campaign_id, phone)
);
CREATE INDEX leads_due_idx ON leads (campaign_id, next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX leads_campaign_status_idx ON leads (campaign_id, status);

-- campaigns: every call placed. The row is written (state dialing) before the originate
-- is sent, with the call id callplane chose, so a crash can never hide a dial.
CREATE TABLE attempts (
    id          bigserial PRIMARY KEY,
    call_id     uuid        NOT NULL UNIQUE,
    campaign_id bigint      NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    lead_id     bigint      NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    phone       text        NOT NULL,
    attempt_no  int         NOT NULL,
    state       text        NOT NULL DEFAULT 'dialing' CHECK (state IN ('dialing', 'ended')),
    node        text,
    controller  text        NOT NULL,
    outcome     text,
    cause       text,
    sip_code    int,
    started_at  timestamptz NOT NULL,
    answered_at timestamptz,
    ended_at    timestamptz,
    talk_ms     bigint,
    UNIQUE (lead_id, attempt_no),
    CHECK ((state = 'ended') = (outcome IS NOT NULL))
);
CREATE INDEX attempts_campaign_idx ON attempts (campaign_id, state);
-- Never dial a number that is already on a live call, in any campaign.
CREATE UNIQUE INDEX attempts_one_live_call_per_number ON attempts (phone) WHERE state = 'dialing';

-- +goose Down
DROP TABLE attempts;
DROP TABLE leads;
DROP TABLE campaigns;
DROP TABLE contacts;
