package api

import (
	"bytes"
	"net/http"
	"regexp"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/callplane/callplane/campaigns"
)

// flowID is what a flow id may be: it is a URL path segment and a file name. The flow
// loader (ivr) takes any string as the id a file declares; the API takes only these.
var flowID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// maxFlowBytes bounds a flow file.
const maxFlowBytes = 1 << 20

// publishFlow takes a flow file (YAML) as the body; it is validated first (422 with every
// problem as file:line:col) and stored as the next version.
func (h *handlers) publishFlow(c echo.Context) error {
	id := c.Param("id")
	if !flowID.MatchString(id) {
		return &campaigns.ValidationError{Problems: []string{"id " + quoteShort(id) + ": want 1 to 64 letters (a-z, A-Z), digits, '_' or '-'"}}
	}
	body, err := readBody(c, maxFlowBytes)
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return badBody("", "not valid UTF-8 text (first bad byte at offset %d)", invalidUTF8At(body))
	}
	if i := bytes.IndexByte(body, 0); i >= 0 {
		return badBody("", "contains a NUL character (at offset %d)", i)
	}
	v, problems, err := h.d.Store.PublishFlow(c.Request().Context(), id, body, h.d.Clock.Now())
	if err != nil {
		return err
	}
	warnings := []string{}
	for _, p := range problems {
		warnings = append(warnings, p.String())
	}
	return c.JSON(http.StatusOK, map[string]any{"id": v.ID, "version": v.Version, "created_at": v.CreatedAt, "warnings": warnings})
}

func (h *handlers) getFlow(c echo.Context) error {
	id := c.Param("id")
	if !flowID.MatchString(id) {
		return notFound("flow", id)
	}
	v, err := h.d.Store.Flow(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (h *handlers) listFlows(c echo.Context) error {
	vs, err := h.d.Store.Flows(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"flows": vs})
}

func (h *handlers) flowResults(c echo.Context) error {
	id, err := h.campaignExists(c)
	if err != nil {
		return err
	}
	res, err := h.d.Store.FlowResults(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
