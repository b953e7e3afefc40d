package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/callplane/callplane/campaigns"
)

// callerIDPoolRequest is the body of POST /caller-id-pools. Integers are sized as their
// columns are.
type callerIDPoolRequest struct {
	Name          string   `json:"name"`
	HourlyCap     int32    `json:"hourly_cap"`
	DailyCap      int32    `json:"daily_cap"`
	CooldownMs    int32    `json:"cooldown_ms"`
	MinAnswerRate float64  `json:"min_answer_rate"`
	MinCalls      int32    `json:"min_calls"`
	Numbers       []string `json:"numbers"`
}

func (h *handlers) createCallerIDPool(c echo.Context) error {
	var req callerIDPoolRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	p, err := h.d.Store.CreateCallerIDPool(c.Request().Context(), campaigns.CallerIDPool{
		Name: req.Name, HourlyCap: int(req.HourlyCap), DailyCap: int(req.DailyCap), CooldownMs: int(req.CooldownMs),
		MinAnswerRate: req.MinAnswerRate, MinCalls: int(req.MinCalls),
	}, req.Numbers, h.d.Phones, h.d.Clock.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, p)
}

func (h *handlers) listCallerIDPools(c echo.Context) error {
	ps, err := h.d.CallerIDs.Pools(c.Request().Context(), h.d.Clock.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"pools": ps})
}

func (h *handlers) addCallerIDs(c echo.Context) error {
	var req struct {
		Numbers []string `json:"numbers"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	rejected, err := h.d.Store.AddCallerIDs(c.Request().Context(), c.Param("name"), req.Numbers, h.d.Phones, h.d.Clock.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"rejected": rejected})
}
