package main

import (
	"context"
	"fmt"

	"github.com/callplane/callplane/ari/aritest"
	"github.com/callplane/callplane/campaigns"
	"github.com/callplane/callplane/crm"
	"github.com/callplane/callplane/eslbridge/esltest"
	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/sim"
)

const demoCampaign = "Demo broadcast"

// startSimulators runs a simulated FreeSWITCH and a simulated Asterisk on loopback ports
// and adds them to the nodes: pools freeswitch, asterisk and default (both).
func (a *App) startSimulators() error {
	model := sim.Default()
	model.AnswerRate = a.cfg.Demo.AnswerRate
	fs := esltest.New(esltest.Options{
		Password: "ClueCon", Model: model, TimeScale: a.cfg.Demo.TimeScale, Seed: 1,
		Logger: a.log.With("sim", "fs-demo"),
	})
	if err := fs.Listen("127.0.0.1:0"); err != nil {
		return fmt.Errorf("demo freeswitch: %w", err)
	}
	a.sims = append(a.sims, fs)
	ast := aritest.New(aritest.Options{
		Username: "callplane", Password: "callplane", App: "callplane", Model: model,
		TimeScale: a.cfg.Demo.TimeScale, Seed: 2, Logger: a.log.With("sim", "ast-demo"),
	})
	if err := ast.Listen("127.0.0.1:0"); err != nil {
		return fmt.Errorf("demo asterisk: %w", err)
	}
	a.sims = append(a.sims, ast)
	a.cfg.Media.Nodes = append(a.cfg.Media.Nodes,
		NodeConfig{
			Name: "fs-demo", Kind: string(media.KindFreeSWITCH), Address: fs.Addr(), Password: "ClueCon",
			DialTemplate: "sofia/gateway/demo-carrier/{number}", MaxCalls: 200, CallsPerSecond: 50,
			Pools: []string{"default", "freeswitch"}, Weight: 1,
		},
		NodeConfig{
			Name: "ast-demo", Kind: string(media.KindAsterisk), Address: ast.URL(), Username: "callplane",
			Password: "callplane", App: "callplane", DialTemplate: "PJSIP/{number}@demo-carrier",
			MaxCalls: 200, CallsPerSecond: 50, Pools: []string{"default", "asterisk"}, Weight: 1,
		})
	a.log.Info("demo: simulated nodes listening", "freeswitch", fs.Addr(), "asterisk", ast.URL())
	return nil
}

// seedDemo creates and starts the demo campaign on first start.
func (a *App) seedDemo(ctx context.Context, store *campaigns.Store) error {
	if _, err := store.CampaignByName(ctx, demoCampaign); err == nil {
		return nil
	}
	now := a.clock.Now()
	c, err := store.CreateCampaign(ctx, campaigns.Campaign{
		Name: demoCampaign, DialMode: campaigns.ModeBroadcast, MaxConcurrent: 30, CallsPerSecond: 20,
		MaxAttempts: 3, RetryAfterSeconds: 60, MediaPool: "default",
	}, now)
	if err != nil {
		return fmt.Errorf("demo campaign: %w", err)
	}
	var rows []crm.ImportRow
	for i := 0; i < a.cfg.Demo.Contacts; i++ {
		phone := fmt.Sprintf("+86138%08d", (i*7919+1234567)%100000000)
		rows = append(rows, crm.ImportRow{Line: i + 2, Phone: phone, RawPhone: phone, Name: fmt.Sprintf("演示客户 %d", i+1)})
	}
	if _, err := store.Import(ctx, c.ID, crm.ImportResult{Rows: rows}, now); err != nil {
		return fmt.Errorf("demo contacts: %w", err)
	}
	if _, err := store.Act(ctx, c.ID, "start", now); err != nil {
		return fmt.Errorf("demo start: %w", err)
	}
	a.log.Info("demo: campaign started", "campaign_id", c.ID, "contacts", len(rows))
	return nil
}
