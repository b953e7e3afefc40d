-- +goose Up
-- campaigns: calling windows. zone_key is the lead's time zones (IANA names, sorted,
-- joined with a space): from the contact's own time zone field, else from the number;
-- '' when unknown (the campaign's time_zone applies). The engine computes which keys are
-- open now and filters on this indexed column.
ALTER TABLE leads ADD COLUMN zone_key text NOT NULL DEFAULT '';
CREATE INDEX leads_zone_due_idx ON leads (campaign_id, zone_key, next_attempt_at) WHERE status = 'pending';

-- The rule pack (us, uk, cn, fr or a configured one; '' for none), the campaign's own
-- zone (leads without a known zone, and its schedule), and its schedule (JSON).
ALTER TABLE campaigns ADD COLUMN rule_pack text NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC';
ALTER TABLE campaigns ADD COLUMN schedule jsonb NOT NULL DEFAULT '{}'::jsonb;

-- +goose Down
ALTER TABLE campaigns DROP COLUMN schedule;
ALTER TABLE campaigns DROP COLUMN time_zone;
ALTER TABLE campaigns DROP COLUMN rule_pack;
DROP INDEX leads_zone_due_idx;
ALTER TABLE leads DROP COLUMN zone_key;
