package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/callplane/callplane/ari/aritest"
	"github.com/callplane/callplane/campaigns"
	"github.com/callplane/callplane/crm"
	"github.com/callplane/callplane/eslbridge/esltest"
	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/sim"
)

const (
	demoCampaign   = "Demo broadcast"
	demoPredictive = "Demo predictive"
	demoPressOne   = "Demo press-1"
	demoAgents     = 10 // for the predictive campaign; two more take the press-1 transfers
)

// demoAgentNumber is the extension of simulated agent i (0-based): its phone answers at
// once and stays up until hung up.
func demoAgentNumber(i int) string { return fmt.Sprintf("%d", 1001+i) }

// startSimulators runs a simulated FreeSWITCH and a simulated Asterisk on loopback ports
// and adds them to the nodes: pools freeswitch, asterisk and default (both).
func (a *App) startSimulators() error {
	model := sim.Default()
	model.AnswerRate = a.cfg.Demo.AnswerRate
	// How the simulated callees answer IVR menus (the press-1 demo campaign).
	press := &sim.PressModel{Digits: map[string]float64{"1": 0.3, "2": 0.2, "9": 0.1}, DelayMedian: 1500 * time.Millisecond, DelaySigma: 0.5}
	fs := esltest.New(esltest.Options{
		Password: "ClueCon", Model: model, TimeScale: a.cfg.Demo.TimeScale, Seed: 1, Press: press,
		Logger: a.log.With("sim", "fs-demo"),
	})
	if err := fs.Listen("127.0.0.1:0"); err != nil {
		return fmt.Errorf("demo freeswitch: %w", err)
	}
	a.sims = append(a.sims, fs)
	ast := aritest.New(aritest.Options{
		Username: "callplane", Password: "callplane", App: "callplane", Model: model, Press: press,
		TimeScale: a.cfg.Demo.TimeScale, Seed: 2, Logger: a.log.With("sim", "ast-demo"),
	})
	if err := ast.Listen("127.0.0.1:0"); err != nil {
		return fmt.Errorf("demo asterisk: %w", err)
	}
	a.sims = append(a.sims, ast)
	agentPhone := sim.Plan{Result: sim.Answer, Ring: 200 * time.Millisecond, Talk: 24 * time.Hour}
	for i := range demoAgents + 2 {
		fs.Script(demoAgentNumber(i), agentPhone)
		ast.Script(demoAgentNumber(i), agentPhone)
	}
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

// seedDemo creates and starts the demo campaigns missing from the database, then logs the
// simulated agents in (a restart logs them out).
func (a *App) seedDemo(ctx context.Context, store *campaigns.Store) error {
	for _, seed := range []struct {
		name string
		fn   func(context.Context, *campaigns.Store) error
	}{{demoCampaign, a.seedBroadcast}, {demoPressOne, a.seedPressOne}, {demoPredictive, a.seedPredictive}} {
		if _, err := store.CampaignByName(ctx, seed.name); err == nil {
			continue
		}
		if err := seed.fn(ctx, store); err != nil {
			return err
		}
	}
	as, err := store.Agents(ctx)
	if err != nil {
		return err
	}
	var ids []int64
	for _, ag := range as {
		if ag.Team == "demo" {
			a.desk.Add(ag)
			ids = append(ids, ag.ID)
		}
	}
	a.goLoginDemoAgents(ids)
	return nil
}

// seedBroadcast creates and starts the demo broadcast campaign.
func (a *App) seedBroadcast(ctx context.Context, store *campaigns.Store) error {
	return a.seedCampaign(ctx, store, campaigns.Campaign{
		Name: demoCampaign, DialMode: campaigns.ModeBroadcast, MaxConcurrent: 30, CallsPerSecond: 20,
		MaxAttempts: 3, RetryAfterSeconds: 60, MediaPool: "default",
	}, demoContacts{prefix: "+86138", offset: 1234567, n: a.cfg.Demo.Contacts, name: "演示客户"}, 0, 0)
}

// seedPressOne creates a broadcast campaign running the press1 flow (configs/flows) on the
// FreeSWITCH node (the flow speaks text, which Asterisk cannot) with agents for the callees
// who press 1.
func (a *App) seedPressOne(ctx context.Context, store *campaigns.Store) error {
	if _, err := store.Flow(ctx, "press1"); err != nil {
		a.log.Warn("demo: no press1 flow published (flows_dir); skipping the press-1 campaign", "err", err)
		return nil
	}
	return a.seedCampaign(ctx, store, campaigns.Campaign{
		Name: demoPressOne, DialMode: campaigns.ModeBroadcast, MaxConcurrent: 10, CallsPerSecond: 10,
		MaxAttempts: 2, RetryAfterSeconds: 60, MediaPool: "freeswitch", Flow: "press1", // speaks tts: FreeSWITCH only
	}, demoContacts{prefix: "+86137", offset: 2345678, n: a.cfg.Demo.Contacts, name: "按键客户"}, demoAgents, demoAgents+2)
}

// seedPredictive creates a predictive campaign worked by ten simulated agents, five on
// each node. The abandon deadline is divided by the time scale like the calls' durations.
func (a *App) seedPredictive(ctx context.Context, store *campaigns.Store) error {
	return a.seedCampaign(ctx, store, campaigns.Campaign{
		Name: demoPredictive, DialMode: campaigns.ModePredictive, MaxConcurrent: 40, CallsPerSecond: 20,
		MaxAttempts: 3, RetryAfterSeconds: 60, MediaPool: "default",
		AbandonAfterMs: max(1, int(2000/a.cfg.Demo.TimeScale)),
	}, demoContacts{prefix: "+86139", offset: 7654321, n: 3 * a.cfg.Demo.Contacts, name: "预测客户"}, 0, demoAgents)
}

// demoContacts describes a demo contact list: n numbers under prefix, spread by a stride.
type demoContacts struct {
	prefix string
	offset int
	n      int
	name   string
}

// seedCampaign creates a demo campaign, imports its contacts, creates the simulated agents
// [firstAgent, lastAgent) for it (alternating nodes) and starts it.
func (a *App) seedCampaign(ctx context.Context, store *campaigns.Store, camp campaigns.Campaign, list demoContacts, firstAgent, lastAgent int) error {
	now := a.clock.Now()
	c, err := store.CreateCampaign(ctx, camp, now)
	if err != nil {
		return fmt.Errorf("demo campaign %s: %w", camp.Name, err)
	}
	var rows []crm.ImportRow
	for i := range list.n {
		phone := fmt.Sprintf("%s%08d", list.prefix, (i*7919+list.offset)%100000000)
		rows = append(rows, crm.ImportRow{Line: i + 2, Phone: phone, RawPhone: phone, Name: fmt.Sprintf("%s %d", list.name, i+1)})
	}
	if _, err := store.Import(ctx, c.ID, crm.ImportResult{Rows: rows}, now); err != nil {
		return fmt.Errorf("demo contacts of %s: %w", camp.Name, err)
	}
	for i := firstAgent; i < lastAgent; i++ {
		kind, node, ep := "freeswitch", "fs-demo", "user/"+demoAgentNumber(i)
		if i%2 == 1 {
			kind, node, ep = "asterisk", "ast-demo", "PJSIP/"+demoAgentNumber(i)
		}
		ag, err := store.CreateAgent(ctx, campaigns.Agent{
			Name: fmt.Sprintf("坐席 %02d", i+1), Team: "demo", Endpoints: campaigns.Endpoints{kind: ep}, Node: node,
			MaxWrapMs: max(1, int(15000/a.cfg.Demo.TimeScale)), Campaigns: []campaigns.AgentCampaign{{CampaignID: c.ID, Priority: 1}},
		}, now)
		if err != nil {
			return fmt.Errorf("demo agent: %w", err)
		}
		a.desk.Add(ag)
	}
	if _, err := store.Act(ctx, c.ID, "start", now); err != nil {
		return fmt.Errorf("demo start of %s: %w", camp.Name, err)
	}
	a.log.Info("demo: campaign started", "campaign_id", c.ID, "name", camp.Name, "contacts", len(rows), "agents", lastAgent-firstAgent)
	return nil
}

// goLoginDemoAgents logs the simulated agents in once their nodes are up, then has them
// take short breaks now and then, as people do: a call answered while its agent just
// paused finds nobody, so the demo shows abandons in the ledger too.
func (a *App) goLoginDemoAgents(ids []int64) {
	ctx := a.runCtx
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer a.demoBreaks(ctx, ids)
		for _, id := range ids {
			for {
				_, err := a.desk.Login(ctx, id)
				if err == nil || errors.Is(err, campaigns.ErrConflict) {
					break
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
		}
	}()
}

// demoBreaks pauses one simulated agent at a time for a short break until ctx ends.
func (a *App) demoBreaks(ctx context.Context, ids []int64) {
	every := time.Duration(float64(20*time.Second) / a.cfg.Demo.TimeScale * 10)
	rest := time.Duration(float64(60*time.Second) / a.cfg.Demo.TimeScale)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		id := ids[i%len(ids)]
		if _, err := a.desk.Pause(id, "break"); err != nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(rest):
		}
		_, _ = a.desk.Ready(id)
	}
}
