// Package api is callplane's REST API (echo): campaigns, their contact lists and stats,
// media node status, health and metrics. Every /api/v1 route needs
// `Authorization: Bearer <admin token>`. Domain errors map to HTTP statuses in one table
// (httpError).
package api

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/callplane/callplane/campaigns"
	"github.com/callplane/callplane/campaigns/compliance"
	"github.com/callplane/callplane/crm"
	"github.com/callplane/callplane/media"
)

// Deps are what the API serves from.
type Deps struct {
	Store     *campaigns.Store
	Desk      *campaigns.Desk
	CallerIDs *campaigns.CallerIDs
	Hub       *campaigns.Hub
	Pool      *media.Pool
	Trunks    *media.Trunks
	Rules     campaigns.Rules
	// Calendars are the holiday calendars (built-in and configured) for GET /holidays.
	Calendars  map[string]compliance.Calendar
	Phones     crm.PhoneNormalizer
	Clock      media.Clock
	Log        *slog.Logger
	AdminToken string
	// Ping checks the database for /readyz.
	Ping     func(context.Context) error
	Gatherer prometheus.Gatherer
}

// openAPI documents every route; TestOpenAPICoversEveryRoute keeps it complete.
//
//go:embed openapi.yaml
var openAPI []byte

// maxUpload bounds a contact list upload.
const maxUpload = 256 << 20

// New builds the HTTP handler.
func New(d Deps) http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = d.errorHandler
	h := &handlers{d}

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", h.ready)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{})))

	v1 := e.Group("/api/v1", d.auth)
	v1.GET("/openapi.yaml", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", openAPI) })
	v1.POST("/campaigns", h.createCampaign)
	v1.GET("/campaigns/:id", h.getCampaign)
	v1.PATCH("/campaigns/:id", h.patchCampaign)
	v1.POST("/campaigns/:id/contacts", h.importContacts)
	v1.GET("/campaigns/:id/contacts", h.listContacts)
	v1.POST("/campaigns/:id/:action", h.act)
	v1.GET("/campaigns/:id/stats", h.stats)
	v1.GET("/media/nodes", h.nodes)
	v1.GET("/media/trunks", h.trunks)
	v1.GET("/rule-packs", h.rulePacks)
	v1.GET("/holidays", h.holidays)
	v1.POST("/caller-id-pools", h.createCallerIDPool)
	v1.GET("/caller-id-pools", h.listCallerIDPools)
	v1.POST("/caller-id-pools/:name/numbers", h.addCallerIDs)
	v1.GET("/contacts/:id/decisions", h.decisions)
	v1.GET("/events", h.events)
	v1.POST("/dnc", h.addDNC)
	v1.GET("/dnc", h.listDNC)
	v1.DELETE("/dnc/:entry", h.removeDNC)
	v1.POST("/campaigns/:id/dnc", h.addDNC)
	v1.GET("/campaigns/:id/dnc", h.listDNC)
	v1.GET("/campaigns/:id/abandons", h.abandons)
	v1.GET("/campaigns/:id/compliance", h.compliance)
	v1.GET("/campaigns/:id/callbacks", h.callbacks)
	v1.GET("/campaigns/:id/flow-results", h.flowResults)
	v1.PUT("/flows/:id", h.publishFlow)
	v1.GET("/flows", h.listFlows)
	v1.GET("/flows/:id", h.getFlow)
	v1.POST("/agents", h.createAgent)
	v1.GET("/agents", h.listAgents)
	v1.POST("/agents/:id/:action", h.agentAction)
	v1.POST("/calls/:id/disposition", h.disposition)
	return e
}

func (d Deps) auth(next echo.HandlerFunc) echo.HandlerFunc {
	want := []byte("Bearer " + d.AdminToken)
	return func(c echo.Context) error {
		got := []byte(c.Request().Header.Get(echo.HeaderAuthorization))
		if d.AdminToken == "" || subtle.ConstantTimeCompare(got, want) != 1 {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="callplane"`)
			return echo.NewHTTPError(http.StatusUnauthorized, "missing or wrong bearer token")
		}
		return next(c)
	}
}

// httpError is the one table from domain errors to HTTP.
func httpError(err error) (int, any) {
	var he *echo.HTTPError
	var ve *campaigns.ValidationError
	var fe *campaigns.FlowError
	switch {
	case errors.As(err, &he):
		return he.Code, map[string]any{"error": fmt.Sprint(he.Message)}
	case errors.As(err, &fe):
		problems := make([]string, len(fe.Problems))
		for i, p := range fe.Problems {
			problems[i] = p.String()
		}
		return http.StatusUnprocessableEntity, map[string]any{"error": "invalid flow", "problems": problems}
	case errors.As(err, &ve):
		return http.StatusUnprocessableEntity, map[string]any{"error": "invalid request", "problems": ve.Problems}
	case errors.Is(err, campaigns.ErrNotFound):
		return http.StatusNotFound, map[string]any{"error": err.Error()}
	case errors.Is(err, campaigns.ErrConflict):
		return http.StatusConflict, map[string]any{"error": err.Error()}
	}
	return http.StatusInternalServerError, map[string]any{"error": "internal error"}
}

func (d Deps) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, body := httpError(err)
	if code >= 500 {
		d.Log.Error("request failed", "method", c.Request().Method, "path", c.Path(), "err", err)
	}
	_ = c.JSON(code, body)
}

type handlers struct{ d Deps }

func (h *handlers) ready(c echo.Context) error {
	var problems []string
	if err := h.d.Ping(c.Request().Context()); err != nil {
		problems = append(problems, "database: "+err.Error())
	}
	if !h.d.Pool.AnyUp() {
		problems = append(problems, "media: no node is up")
	}
	if len(problems) > 0 {
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "not ready", "problems": problems})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

func campaignID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, echo.NewHTTPError(http.StatusNotFound, "campaign "+c.Param("id")+": not found")
	}
	return id, nil
}

// campaignRequest is the body of POST /campaigns; unknown fields are refused.
type campaignRequest struct {
	Name               string               `json:"name"`
	DialMode           string               `json:"dial_mode"`
	MaxConcurrent      int                  `json:"max_concurrent"`
	CallsPerSecond     float64              `json:"calls_per_second"`
	MaxAttempts        int                  `json:"max_attempts"`
	RetryAfterSeconds  int                  `json:"retry_after_seconds"`
	RetryRules         campaigns.RetryRules `json:"retry_rules"`
	RingTimeoutSeconds int                  `json:"ring_timeout_seconds"`
	MediaPool          string               `json:"media_pool"`
	Prompt             string               `json:"prompt"`
	CallerID           string               `json:"caller_id"`
	AbandonAfterMs     int                  `json:"abandon_after_ms"`
	AbandonTarget      float64              `json:"abandon_target"`
	AbandonHardCap     float64              `json:"abandon_hard_cap"`
	AbandonPrompt      string               `json:"abandon_prompt"`
	CallerIDPool       string               `json:"caller_id_pool"`
	Flow               string               `json:"flow"`
	RulePack           string               `json:"rule_pack"`
	TimeZone           string               `json:"time_zone"`
	Schedule           json.RawMessage      `json:"schedule"`
}

func (h *handlers) createCampaign(c echo.Context) error {
	var req campaignRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.MediaPool == "" {
		req.MediaPool = "default"
	}
	camp := campaigns.Campaign{
		Name: req.Name, DialMode: req.DialMode, MaxConcurrent: req.MaxConcurrent,
		CallsPerSecond: req.CallsPerSecond, MaxAttempts: req.MaxAttempts,
		RetryAfterSeconds: req.RetryAfterSeconds, RetryRules: req.RetryRules, RingTimeoutSeconds: req.RingTimeoutSeconds,
		MediaPool: req.MediaPool, Prompt: req.Prompt, CallerID: req.CallerID,
		AbandonAfterMs: req.AbandonAfterMs, AbandonTarget: req.AbandonTarget, AbandonHardCap: req.AbandonHardCap,
		AbandonPrompt: req.AbandonPrompt, CallerIDPool: req.CallerIDPool, Flow: req.Flow,
		RulePack: req.RulePack, TimeZone: req.TimeZone, Schedule: req.Schedule,
	}
	if err := camp.Normalize(); err != nil {
		return err
	}
	if p := h.checkCampaign(c.Request().Context())(&camp); len(p) > 0 {
		return &campaigns.ValidationError{Problems: p}
	}
	camp, err := h.d.Store.CreateCampaign(c.Request().Context(), camp, h.d.Clock.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, camp)
}

// checkCampaign returns the checks of a campaign against what this controller knows: its
// media pool has nodes, its flow and caller-id pool exist, its rule pack and schedule hold.
func (h *handlers) checkCampaign(ctx context.Context) func(*campaigns.Campaign) []string {
	return func(camp *campaigns.Campaign) []string {
		p := h.d.Rules.Check(camp)
		known := false
		for _, st := range h.d.Pool.Status() {
			known = known || slices.Contains(st.Pools, camp.MediaPool)
		}
		if !known {
			p = append(p, fmt.Sprintf("media_pool: no node is in pool %q", camp.MediaPool))
		}
		if camp.Flow != "" {
			if _, err := h.d.Store.Flow(ctx, camp.Flow); err != nil {
				p = append(p, fmt.Sprintf("flow: no flow %q is published", camp.Flow))
			}
		}
		if camp.CallerIDPool != "" {
			pools, err := h.d.Store.CallerIDPools(ctx)
			if err != nil || !slices.ContainsFunc(pools, func(cp campaigns.CallerIDPool) bool { return cp.Name == camp.CallerIDPool }) {
				p = append(p, fmt.Sprintf("caller_id_pool: no pool named %q", camp.CallerIDPool))
			}
		}
		return p
	}
}

func (h *handlers) patchCampaign(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	var p campaigns.CampaignPatch
	if err := decodeJSON(c, &p); err != nil {
		return err
	}
	camp, err := h.d.Store.UpdateCampaign(c.Request().Context(), id, p, h.checkCampaign(c.Request().Context()), h.d.Clock.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, camp)
}

func (h *handlers) getCampaign(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	camp, err := h.d.Store.Campaign(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, camp)
}

func (h *handlers) act(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	action := c.Param("action")
	if action != "start" && action != "pause" && action != "stop" {
		return echo.NewHTTPError(http.StatusNotFound, "no such action: "+action)
	}
	camp, err := h.d.Store.Act(c.Request().Context(), id, action, h.d.Clock.Now())
	if err != nil {
		return err
	}
	h.d.Hub.Publish(campaigns.LiveEvent{Type: "campaign.state", At: camp.UpdatedAt, CampaignID: id, State: camp.State})
	return c.JSON(http.StatusOK, camp)
}

func (h *handlers) importContacts(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	parsed, err := h.parseUpload(c)
	if err != nil {
		return err
	}
	res, err := h.d.Store.Import(c.Request().Context(), id, parsed, h.d.Clock.Now())
	if err != nil {
		return err
	}
	if res.Rejected == nil {
		res.Rejected = []crm.RowError{}
	}
	return c.JSON(http.StatusOK, res)
}

// parseUpload reads a list of numbers: text/csv with a header row and a phone column, or
// a JSON array of objects with "phone". Bad rows are returned as rejections.
func (h *handlers) parseUpload(c echo.Context) (crm.ImportResult, error) {
	body := http.MaxBytesReader(c.Response(), c.Request().Body, maxUpload)
	ct, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	var parsed crm.ImportResult
	var err error
	switch ct {
	case "text/csv", "application/csv", "text/plain":
		parsed, err = crm.ParseCSV(body, h.d.Phones)
	case "application/json":
		parsed, err = crm.ParseJSON(body, h.d.Phones)
	default:
		return parsed, echo.NewHTTPError(http.StatusUnsupportedMediaType, "send text/csv (a header row with a phone column) or application/json (an array of objects with \"phone\")")
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return parsed, echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("upload larger than %d bytes", maxUpload))
		}
		return parsed, echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	return parsed, nil
}

func (h *handlers) listContacts(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	limit, offset, err := page(c)
	if err != nil {
		return err
	}
	total, leads, err := h.d.Store.Leads(c.Request().Context(), id, limit, offset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"total": total, "contacts": leads})
}

// page reads ?limit= (1..10000, default 100) and ?offset=.
func page(c echo.Context) (limit, offset int, err error) {
	limit = 100
	if v := c.QueryParam("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 10000 {
			return 0, 0, &campaigns.ValidationError{Problems: []string{"limit: want 1..10000"}}
		}
	}
	if v := c.QueryParam("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, &campaigns.ValidationError{Problems: []string{"offset: want >= 0"}}
		}
	}
	return limit, offset, nil
}

func (h *handlers) stats(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	st, err := h.d.Store.Stats(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (h *handlers) nodes(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"nodes": h.d.Pool.Status()})
}

func (h *handlers) holidays(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"calendars": h.d.Calendars})
}

func (h *handlers) rulePacks(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"packs": h.d.Rules.Packs})
}

func (h *handlers) trunks(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"trunks": h.d.Trunks.Status(h.d.Clock.Now())})
}

func decodeJSON(c echo.Context, v any) error {
	ct, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if ct != "application/json" {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "send application/json")
	}
	dec := jsonDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "invalid JSON: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}
