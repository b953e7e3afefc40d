-- +goose Up
-- campaigns: retry rules by outcome, {"busy": {"after_seconds": 600, "max": 2}, ...};
-- outcomes without a rule retry after retry_after_seconds.
ALTER TABLE campaigns ADD COLUMN retry_rules jsonb NOT NULL DEFAULT '{}'::jsonb;

-- +goose Down
ALTER TABLE campaigns DROP COLUMN retry_rules;
