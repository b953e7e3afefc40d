package crm

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

// NewContact is a contact to store.
type NewContact struct {
	Phone  string            `json:"phone"` // E.164
	Name   string            `json:"name"`
	Fields map[string]string `json:"fields"`
}

// InsertContacts stores contacts inside the caller's transaction (so an import and the
// campaign rows that refer to the contacts commit together) and returns their ids in order.
func InsertContacts(ctx context.Context, tx sqlx.ExtContext, contacts []NewContact, now time.Time) ([]int64, error) {
	if len(contacts) == 0 {
		return nil, nil
	}
	batch, err := json.Marshal(contacts)
	if err != nil {
		return nil, fmt.Errorf("insert contacts: %w", err)
	}
	// One round trip for the whole batch. Rows are inserted in array order, so their
	// bigserial ids ascend in input order; RETURNING itself promises no order.
	var ids []int64
	err = sqlx.SelectContext(ctx, tx, &ids, `
		INSERT INTO contacts (phone, name, fields, created_at)
		SELECT c->>'phone', coalesce(c->>'name', ''), coalesce(nullif(c->'fields', 'null'::jsonb), '{}'::jsonb), $2
		FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(c, i)
		ORDER BY i
		RETURNING id`, string(batch), now)
	if err != nil {
		return nil, fmt.Errorf("insert contacts: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}
