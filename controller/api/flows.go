package api

import (
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
)

// publishFlow takes a flow file (YAML) as the body; it is validated first (422 with every
// problem as file:line:col) and stored as the next version.
func (h *handlers) publishFlow(c echo.Context) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, 1<<20))
	if err != nil {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "flow too large (1 MiB at most)")
	}
	v, problems, err := h.d.Store.PublishFlow(c.Request().Context(), c.Param("id"), body, h.d.Clock.Now())
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
	v, err := h.d.Store.Flow(c.Request().Context(), c.Param("id"))
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
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	res, err := h.d.Store.FlowResults(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
