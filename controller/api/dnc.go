package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callplane/callplane/campaigns"
	"github.com/callplane/callplane/crm"
)

// dncScope is the list a /dnc route works on: the global one, or a campaign's.
func dncScope(c echo.Context) (*int64, error) {
	if c.Param("id") == "" {
		return nil, nil
	}
	id, err := campaignID(c)
	return &id, err
}

// addDNC takes numbers as text/csv or a JSON array, like a contact list; the optional
// columns source, note and expires_at (RFC 3339) describe each entry.
func (h *handlers) addDNC(c echo.Context) error {
	scope, err := dncScope(c)
	if err != nil {
		return err
	}
	if scope != nil {
		if _, err := h.d.Store.Campaign(c.Request().Context(), *scope); err != nil {
			return err
		}
	}
	parsed, err := h.parseUpload(c)
	if err != nil {
		return err
	}
	rejected := parsed.Rejected
	var entries []campaigns.DNCEntry
	for _, r := range parsed.Rows {
		e := campaigns.DNCEntry{CampaignID: scope, Phone: r.Phone, Source: r.Fields["source"], Note: r.Fields["note"]}
		if v := r.Fields["expires_at"]; v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				rejected = append(rejected, r.Reject("expires_at "+strconv.Quote(v)+": want RFC 3339, e.g. 2027-01-31T00:00:00+08:00"))
				continue
			}
			e.ExpiresAt = &t
		}
		if e.Source == "" {
			e.Source = "api"
		}
		entries = append(entries, e)
	}
	added, err := h.d.Store.AddDNC(c.Request().Context(), entries, h.d.Clock.Now())
	if err != nil {
		return err
	}
	if rejected == nil {
		rejected = []crm.RowError{}
	}
	return c.JSON(http.StatusOK, map[string]any{"added": added, "updated": len(entries) - added, "rejected": rejected})
}

func (h *handlers) listDNC(c echo.Context) error {
	scope, err := dncScope(c)
	if err != nil {
		return err
	}
	if scope != nil {
		if _, err := h.d.Store.Campaign(c.Request().Context(), *scope); err != nil {
			return err
		}
	}
	limit, offset, err := page(c)
	if err != nil {
		return err
	}
	phone := c.QueryParam("phone")
	if phone != "" {
		if phone, err = h.d.Phones.Normalize(phone); err != nil {
			return &campaigns.ValidationError{Problems: []string{"phone: " + err.Error()}}
		}
	}
	entries, err := h.d.Store.DNC(c.Request().Context(), scope, phone, limit, offset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": entries})
}

func (h *handlers) removeDNC(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("entry"), 10, 64)
	if err != nil {
		return notFound("do-not-call entry", c.Param("entry"))
	}
	if err := h.d.Store.RemoveDNC(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// decisions lists why a campaign contact (the id from /campaigns/{id}/contacts) was
// dialed or skipped.
func (h *handlers) decisions(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return notFound("contact", c.Param("id"))
	}
	ds, err := h.d.Store.Decisions(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"decisions": ds})
}
