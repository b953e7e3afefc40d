package api

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/callplane/callplane/campaigns"
	"github.com/callplane/callplane/media"
)

// TestHTTPErrorTable: each kind of domain error has its status, wrapped or not, and
// anything unknown is a 500 that says nothing of its cause.
func TestHTTPErrorTable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{echo.NewHTTPError(http.StatusUnsupportedMediaType, "x"), 415},
		{&bodyError{Status: 400, Field: "name", Msg: "bad"}, 400},
		{fmt.Errorf("decode: %w", &bodyError{Status: 413, Msg: "big"}), 413},
		{&campaigns.ValidationError{Problems: []string{"name: required"}}, 422},
		{fmt.Errorf("create: %w", &campaigns.ValidationError{Problems: []string{"x"}}), 422},
		{&campaigns.FlowError{}, 422},
		{fmt.Errorf("campaign 7: %w", campaigns.ErrNotFound), 404},
		{fmt.Errorf("start: %w", campaigns.ErrConflict), 409},
		{errors.New("pq: connection refused on /run/secret.sock"), 500},
	} {
		code, body := httpError(tc.err)
		if code != tc.want {
			t.Errorf("%v: %d, want %d", tc.err, code, tc.want)
		}
		if code == 500 && fmt.Sprint(body) != "map[error:internal error]" {
			t.Errorf("a 500 tells its cause: %v", body)
		}
	}
}

func TestWaitingReason(t *testing.T) {
	nodes := []media.NodeStatus{{Name: "a", Pools: []string{"p"}}, {Name: "b", Pools: []string{"q"}, Up: true}}
	running := campaigns.Campaign{State: campaigns.StateRunning, MediaPool: "p"}
	if got := waitingReason(running, nodes); got != `no media node of pool "p" is up (1 in the pool)` {
		t.Errorf("pool down: %q", got)
	}
	nodes[0].Up = true
	if got := waitingReason(running, nodes); got != "" {
		t.Errorf("pool up: %q", got)
	}
	if got := waitingReason(campaigns.Campaign{State: campaigns.StateDraft, MediaPool: "x"}, nodes); got != "" {
		t.Errorf("draft: %q", got)
	}
}
