// Package api is callplane's REST API (echo): campaigns, their contact lists and stats,
// media node status, health and metrics. Every /api/v1 route needs
// `Authorization: Bearer <admin token>`. Domain errors map to HTTP statuses in one table
// (httpError). Request bodies are checked in one place (decodeJSON) and path parameters
// in another (pathParams), so that no value a client sends reaches PostgreSQL in a form
// it refuses.
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/callplane/callplane/campaigns"
	"github.com/callplane/callplane/campaigns/compliance"
	"github.com/callplane/callplane/crm"
	"github.com/callplane/callplane/ivr"
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
	Limits   Limits
}

// Limits bound what requests may hold; zero fields take the defaults.
type Limits struct {
	// EventStreams caps the concurrent GET /api/v1/events streams; one more is answered
	// 503 with Retry-After (default 100).
	EventStreams int
	// UploadTimeout replaces the server's read and write timeouts for contact and
	// do-not-call uploads (up to 256 MiB): the whole request, from its headers to the end
	// of the answer, must fit in it (default 10m).
	UploadTimeout time.Duration
}

// Defaults of Limits.
const (
	DefaultEventStreams  = 100
	DefaultUploadTimeout = 10 * time.Minute
)

func (l *Limits) defaults() {
	if l.EventStreams <= 0 {
		l.EventStreams = DefaultEventStreams
	}
	if l.UploadTimeout <= 0 {
		l.UploadTimeout = DefaultUploadTimeout
	}
}

// openAPI documents every route; TestOpenAPICoversEveryRoute keeps it complete.
//
//go:embed openapi.yaml
var openAPI []byte

// maxUpload bounds a contact list upload.
const maxUpload = 256 << 20

// New builds the HTTP handler.
func New(d Deps) http.Handler {
	d.Limits.defaults()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = d.errorHandler
	h := &handlers{d: d}

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", h.ready)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{})))

	v1 := e.Group("/api/v1", d.auth, pathParams)
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

// auth lets through requests with `Authorization: Bearer <admin token>`; the scheme name
// is matched ignoring case (RFC 9110 11.1). The tokens are compared as SHA-256 digests in
// constant time, so neither the content nor the length of the admin token leaks.
func (d Deps) auth(next echo.HandlerFunc) echo.HandlerFunc {
	want := sha256.Sum256([]byte(d.AdminToken))
	return func(c echo.Context) error {
		scheme, token, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
		got := sha256.Sum256([]byte(strings.TrimLeft(token, " ")))
		ok := subtle.ConstantTimeCompare(got[:], want[:]) == 1
		if d.AdminToken == "" || !strings.EqualFold(scheme, "Bearer") || !ok {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="callplane"`)
			return echo.NewHTTPError(http.StatusUnauthorized, "missing or wrong bearer token")
		}
		return next(c)
	}
}

// maxParamBytes bounds a path parameter (ids, names).
const maxParamBytes = 256

// pathParams unescapes path parameters exactly once and refuses those no resource can
// have. Echo matches routes on URL.RawPath when the request has one (an escape Go would not
// write, such as %2F) and then hands out its parameters still escaped; otherwise they come
// from the decoded URL.Path. After this, c.Param is always the decoded value. A parameter
// that is not valid UTF-8, holds a control character or is longer than maxParamBytes is
// answered 404: no id or name can be like that, and PostgreSQL refuses some of them.
func pathParams(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		names, values := c.ParamNames(), c.ParamValues()
		if len(names) == 0 {
			return next(c)
		}
		out := make([]string, len(values))
		for i, v := range values {
			if c.Request().URL.RawPath != "" {
				u, err := url.PathUnescape(v)
				if err != nil {
					return echo.NewHTTPError(http.StatusNotFound, "not found: bad escape in "+quoteShort(v))
				}
				v = u
			}
			if names[i] != "*" && !plainParam(v) {
				return echo.NewHTTPError(http.StatusNotFound, "not found: "+names[i]+" "+quoteShort(v)+" cannot exist")
			}
			out[i] = v
		}
		c.SetParamValues(out...)
		return next(c)
	}
}

func plainParam(v string) bool {
	if v == "" || len(v) > maxParamBytes || !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func notFound(what, v string) error {
	return echo.NewHTTPError(http.StatusNotFound, what+" "+quoteShort(v)+": not found")
}

// httpError is the one table from domain errors to HTTP.
func httpError(err error) (int, any) {
	var he *echo.HTTPError
	var be *bodyError
	var ve *campaigns.ValidationError
	var fe *campaigns.FlowError
	switch {
	case errors.As(err, &be):
		body := map[string]any{"error": be.Error()}
		if be.Field != "" {
			body["field"] = be.Field
		}
		return be.Status, body
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

type handlers struct {
	d       Deps
	streams atomic.Int64 // open event streams
}

// readyTimeout bounds each check of /readyz.
const readyTimeout = 2 * time.Second

// poolReadiness is one media pool in /readyz.
type poolReadiness struct {
	Up    int `json:"up"`
	Total int `json:"total"`
}

// ready answers /readyz, unauthenticated, so it says little: whether the database
// answers (its error, which names hosts and sockets, goes to the log) and, per media
// pool, how many nodes are up. It is not ready when the database does not answer, no node
// at all is up, or a pool a running campaign dials through has no node up.
func (h *handlers) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	var problems []string
	dbUp := true
	if err := h.d.Ping(ctx); err != nil {
		dbUp = false
		h.d.Log.Warn("readyz: database unreachable", "err", err)
		problems = append(problems, "database unreachable")
	}
	pools := map[string]poolReadiness{}
	for _, n := range h.d.Pool.Status() {
		for _, name := range n.Pools {
			p := pools[name]
			p.Total++
			if n.Up {
				p.Up++
			}
			pools[name] = p
		}
	}
	if !h.d.Pool.AnyUp() {
		problems = append(problems, "media: no node is up")
	}
	if dbUp {
		running, err := h.d.Store.RunningCampaigns(ctx)
		if err != nil {
			h.d.Log.Warn("readyz: running campaigns", "err", err)
			problems = append(problems, "database unreachable")
		}
		var down []string
		for _, camp := range running {
			if pools[camp.MediaPool].Up == 0 && !slices.Contains(down, camp.MediaPool) {
				down = append(down, camp.MediaPool)
			}
		}
		slices.Sort(down)
		for _, name := range down {
			problems = append(problems, fmt.Sprintf("media pool %s: no node up, and a running campaign dials through it", quoteShort(name)))
		}
	}
	if len(problems) > 0 {
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "not ready", "problems": problems, "pools": pools})
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ready", "pools": pools})
}

func campaignID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound("campaign", c.Param("id"))
	}
	return id, nil
}

// campaignExists is campaignID for routes whose store query would answer an empty list
// for a campaign that does not exist: it answers 404 instead.
func (h *handlers) campaignExists(c echo.Context) (int64, error) {
	id, err := campaignID(c)
	if err != nil {
		return 0, err
	}
	if _, err := h.d.Store.Campaign(c.Request().Context(), id); err != nil {
		return 0, err
	}
	return id, nil
}

// campaignRequest is the body of POST /campaigns; unknown fields are refused. Integers
// are int32, as their columns are: a larger one is refused naming the field.
type campaignRequest struct {
	Name               string               `json:"name"`
	DialMode           string               `json:"dial_mode"`
	MaxConcurrent      int32                `json:"max_concurrent"`
	CallsPerSecond     float64              `json:"calls_per_second"`
	MaxAttempts        int32                `json:"max_attempts"`
	RetryAfterSeconds  int32                `json:"retry_after_seconds"`
	RetryRules         campaigns.RetryRules `json:"retry_rules"`
	RingTimeoutSeconds int32                `json:"ring_timeout_seconds"`
	MediaPool          string               `json:"media_pool"`
	Prompt             string               `json:"prompt"`
	CallerID           string               `json:"caller_id"`
	AbandonAfterMs     int32                `json:"abandon_after_ms"`
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
		Name: req.Name, DialMode: req.DialMode, MaxConcurrent: int(req.MaxConcurrent),
		CallsPerSecond: req.CallsPerSecond, MaxAttempts: int(req.MaxAttempts),
		RetryAfterSeconds: int(req.RetryAfterSeconds), RetryRules: req.RetryRules, RingTimeoutSeconds: int(req.RingTimeoutSeconds),
		MediaPool: req.MediaPool, Prompt: req.Prompt, CallerID: req.CallerID,
		AbandonAfterMs: int(req.AbandonAfterMs), AbandonTarget: req.AbandonTarget, AbandonHardCap: req.AbandonHardCap,
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
			if v, err := h.d.Store.Flow(ctx, camp.Flow); err != nil {
				p = append(p, fmt.Sprintf("flow: no flow %q is published", camp.Flow))
			} else if f, _ := ivr.Parse(camp.Flow+".yaml", []byte(v.Source)); f != nil {
				p = append(p, speechProblems(f, camp.MediaPool, h.d.Pool.Status())...)
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

// speechProblems refuses a flow that speaks text on a pool with Asterisk nodes, which have
// no speech synthesis: the error names the nodes of each.
func speechProblems(f *ivr.Flow, pool string, nodes []media.NodeStatus) []string {
	speaking := f.Speaking()
	if len(speaking) == 0 {
		return nil
	}
	var p []string
	for _, n := range nodes {
		if n.Kind == media.KindAsterisk && slices.Contains(n.Pools, pool) {
			p = append(p, fmt.Sprintf("flow: %q speaks text (tts) at %s, and node %s of pool %q is Asterisk, which cannot: "+
				"use recorded files, or a pool of FreeSWITCH nodes", f.ID, strings.Join(speaking, ", "), n.Name, pool))
		}
	}
	return p
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
		return notFound("action", action)
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
	if _, err := h.d.Store.Campaign(c.Request().Context(), id); err != nil {
		return err // before reading what may be 256 MiB
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
// a JSON array of objects with "phone". Bad rows are returned as rejections. The request
// gets Limits.UploadTimeout, instead of the server's read and write timeouts, to arrive,
// be stored and be answered.
func (h *handlers) parseUpload(c echo.Context) (crm.ImportResult, error) {
	rc := http.NewResponseController(c.Response())
	deadline := time.Now().Add(h.d.Limits.UploadTimeout)
	_ = rc.SetReadDeadline(deadline) // ErrNotSupported (HTTP/2, tests): the server's timeouts stay
	_ = rc.SetWriteDeadline(deadline)
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
		if errors.Is(err, crm.ErrBadImport) {
			return parsed, echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		return parsed, bodyReadError(err, maxUpload)
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
	ctx := c.Request().Context()
	st, err := h.d.Store.Stats(ctx, id)
	if err != nil {
		return err
	}
	camp, err := h.d.Store.Campaign(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, struct {
		campaigns.Stats
		// Waiting says why a running campaign places no call now, when the reason is one
		// the controller sees (its media pool has no node up).
		Waiting string `json:"waiting,omitempty"`
	}{st, waitingReason(camp, h.d.Pool.Status())})
}

// waitingReason is why a running campaign cannot place calls on its pool now, or "".
func waitingReason(camp campaigns.Campaign, nodes []media.NodeStatus) string {
	if camp.State != campaigns.StateRunning {
		return ""
	}
	total := 0
	for _, n := range nodes {
		if slices.Contains(n.Pools, camp.MediaPool) {
			total++
			if n.Up {
				return ""
			}
		}
	}
	return fmt.Sprintf("no media node of pool %q is up (%d in the pool)", camp.MediaPool, total)
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
