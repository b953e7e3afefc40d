package api

import (
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"

	"github.com/callplane/callplane/media"
)

// TestOpenAPICoversEveryRoute fails when a route is added without documenting it (or a
// documented route disappears).
func TestOpenAPICoversEveryRoute(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	h := New(Deps{Pool: media.NewPool(media.SystemClock{}, nil)}).(*echo.Echo)
	served := map[string]bool{}
	for _, r := range h.Routes() {
		if r.Method == "echo_route_any" || strings.HasPrefix(r.Name, "github.com/labstack") {
			continue
		}
		// echo's :param -> OpenAPI's {param}
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		served[r.Method+" "+strings.Join(parts, "/")] = true
	}
	for r := range served {
		if !documented[r] {
			t.Errorf("%s is served but not in openapi.yaml", r)
		}
	}
	for r := range documented {
		if !served[r] {
			t.Errorf("%s is in openapi.yaml but not served", r)
		}
	}
}
