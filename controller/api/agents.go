package api

import (
	"net/http"
	"strconv"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/callplane/callplane/campaigns"
)

// agentRequest is the body of POST /agents. Integers are sized as their columns are.
type agentRequest struct {
	Name       string              `json:"name"`
	Team       string              `json:"team"`
	Department string              `json:"department"`
	Endpoints  campaigns.Endpoints `json:"endpoints"`
	Node       string              `json:"node"`
	MaxWrapMs  int32               `json:"max_wrap_ms"`
	Campaigns  []struct {
		CampaignID int64 `json:"campaign_id"`
		Priority   int32 `json:"priority"`
	} `json:"campaigns"`
}

func (h *handlers) createAgent(c echo.Context) error {
	var req agentRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Node != "" && h.d.Pool.Driver(req.Node) == nil {
		return &campaigns.ValidationError{Problems: []string{"node: no media node named " + strconv.Quote(req.Node)}}
	}
	var cs []campaigns.AgentCampaign
	for _, ac := range req.Campaigns {
		cs = append(cs, campaigns.AgentCampaign{CampaignID: ac.CampaignID, Priority: int(ac.Priority)})
	}
	a, err := h.d.Store.CreateAgent(c.Request().Context(), campaigns.Agent{
		Name: req.Name, Team: req.Team, Department: req.Department, Endpoints: req.Endpoints,
		Node: req.Node, MaxWrapMs: int(req.MaxWrapMs), Campaigns: cs,
	}, h.d.Clock.Now())
	if err != nil {
		return err
	}
	h.d.Desk.Add(a)
	return c.JSON(http.StatusCreated, a)
}

func (h *handlers) listAgents(c echo.Context) error {
	as, err := h.d.Desk.Agents(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"agents": as})
}

// pauseRequest is the optional body of POST /agents/{id}/pause.
type pauseRequest struct {
	Reason string `json:"reason"`
}

func (h *handlers) agentAction(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return notFound("agent", c.Param("id"))
	}
	ctx := c.Request().Context()
	var a campaigns.Agent
	switch c.Param("action") {
	case "login":
		a, err = h.d.Desk.Login(ctx, id)
	case "ready":
		a, err = h.d.Desk.Ready(id)
	case "pause":
		var req pauseRequest
		if err := decodeOptionalJSON(c, &req); err != nil {
			return err
		}
		a, err = h.d.Desk.Pause(id, req.Reason)
	case "logout":
		a, err = h.d.Desk.Logout(ctx, id)
	case "dial", "skip":
		a, err = h.d.Desk.Decide(id, c.Param("action") == "dial")
	default:
		return notFound("action", c.Param("action"))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (h *handlers) disposition(c echo.Context) error {
	callID := c.Param("id")
	if _, err := uuid.Parse(callID); err != nil {
		return notFound("call", callID)
	}
	var req campaigns.Disposition
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	agentID, err := h.d.Store.SetDisposition(ctx, callID, req)
	if err != nil {
		return err
	}
	out := map[string]any{"call_id": callID, "agent_id": agentID, "disposition": req.Disposition}
	if req.CallbackAt != "" {
		cb, err := h.d.Store.ScheduleCallback(ctx, callID, agentID, req.CallbackAt, req.CallbackAnyone, h.d.Clock.Now())
		if err != nil {
			return err
		}
		out["callback"] = cb
	}
	h.d.Desk.Disposed(agentID, callID)
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) callbacks(c echo.Context) error {
	id, err := h.campaignExists(c)
	if err != nil {
		return err
	}
	cbs, err := h.d.Store.Callbacks(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"callbacks": cbs})
}

func (h *handlers) abandons(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	rep, err := h.d.Store.Abandons(c.Request().Context(), id, h.d.Clock.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

func (h *handlers) compliance(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	rep, err := h.d.Store.Compliance(c.Request().Context(), id, h.d.Clock.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}
