package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestKill9MidCampaign runs the real binary: a standalone simulated FreeSWITCH or Asterisk
// in its own process, and `callplane serve` killed with SIGKILL mid-campaign and started
// again. The campaign must complete with no call left in progress and no contact over
// max_attempts, and the simulator must have received no more originates for a number than
// the attempts recorded for it.
func TestKill9MidCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	for _, kind := range []string{"freeswitch", "asterisk"} {
		t.Run(kind, func(t *testing.T) { kill9MidCampaign(t, kind) })
	}
}

func kill9MidCampaign(t *testing.T, kind string) {
	dir := t.TempDir()
	bin := buildBinary(t)
	simAddr, statsAddr, httpAddr := freeAddr(t), freeAddr(t), freeAddr(t)

	simLog := &lockedBuffer{}
	simCmd := exec.Command(bin, "simulate", kind, "--listen", simAddr, "--stats-addr", statsAddr,
		"--answer-rate", "0.35", "--time-scale", "40", "--seed", "3")
	simCmd.Stdout, simCmd.Stderr = simLog, simLog
	if err := simCmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { simCmd.Process.Kill(); simCmd.Wait() }()
	waitHTTP(t, "http://"+statsAddr+"/stats")

	node := fmt.Sprintf(`
    - name: fs1
      kind: freeswitch
      address: %s
      password: ClueCon
      dial_template: "sofia/gateway/carrier-a/{number}"`, simAddr)
	if kind == "asterisk" {
		node = fmt.Sprintf(`
    - name: ast1
      kind: asterisk
      address: http://%s
      username: callplane
      password: callplane
      dial_template: "PJSIP/{number}@carrier-a"`, simAddr)
	}
	cfgPath := filepath.Join(dir, "callplane.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
dialer:
  tick: 20ms
  lost_grace: 2s
  drain_timeout: 1s
media:
  nodes:%s
      max_calls: 50
      calls_per_second: 100
`, node)), 0o644)
	env := append(os.Environ(), "DATABASE_URL="+db.URL, "CALLPLANE_HTTP_ADDR="+httpAddr, "CALLPLANE_ADMIN_TOKEN="+token)
	var serveLogs []*lockedBuffer
	startServe := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--config", cfgPath)
		cmd.Env = env
		lb := &lockedBuffer{}
		serveLogs = append(serveLogs, lb)
		cmd.Stdout, cmd.Stderr = lb, lb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitHTTP(t, "http://"+httpAddr+"/healthz")
		return cmd
	}
	defer func() {
		if t.Failed() {
			for i, l := range serveLogs {
				t.Logf("serve run %d log tail:\n%s", i+1, tail(l.String(), 40))
			}
		}
	}()
	serve := startServe()
	c := client{t: t, base: "http://" + httpAddr}

	var camp struct {
		ID int64 `json:"id"`
	}
	c.json("POST", "/api/v1/campaigns", map[string]any{
		"name": "crash", "dial_mode": "broadcast", "max_concurrent": 20, "calls_per_second": 50,
		"max_attempts": 3, "retry_after_seconds": 1,
	}, &camp)
	body, _ := csvWithBadRows(200)
	var imp struct {
		Imported int `json:"imported"`
	}
	c.do("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), "text/csv", body, &imp)
	if imp.Imported != 200 {
		t.Fatalf("imported %d", imp.Imported)
	}
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil)

	// Kill it while calls are in flight.
	deadline := time.Now().Add(time.Minute)
	for {
		var st statsResp
		c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/stats", camp.ID), nil, &st)
		if st.Attempts >= 60 && st.InProgress > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign never got going: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	serve.Process.Signal(syscall.SIGKILL)
	serve.Wait()

	serve = startServe()
	defer func() { serve.Process.Signal(syscall.SIGTERM); serve.Wait() }()
	st := c.waitCompleted(camp.ID)
	if st.InProgress != 0 {
		t.Errorf("%d calls left in progress", st.InProgress)
	}

	var list contactsResp
	c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/contacts?limit=1000", camp.ID), nil, &list)
	resp, err := http.Get("http://" + statsAddr + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	var simStats struct {
		Originates map[string]int `json:"originates"`
	}
	json.NewDecoder(resp.Body).Decode(&simStats)
	resp.Body.Close()
	total := 0
	for _, ct := range list.Contacts {
		n := simStats.Originates[strings.TrimPrefix(ct.Phone, "+")]
		total += n
		if ct.Attempts > 3 {
			t.Errorf("%s: %d attempts > max_attempts 3", ct.Phone, ct.Attempts)
		}
		if n > ct.Attempts {
			t.Errorf("%s: originated %d times, only %d attempts allowed for", ct.Phone, n, ct.Attempts)
		}
	}
	if len(list.Contacts) != 200 || total == 0 {
		t.Fatalf("contacts %d, originates %d", len(list.Contacts), total)
	}
	t.Logf("after kill -9 and restart: %+v; simulator saw %d originates", st, total)
}

var built struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// buildBinary builds the callplane binary (with -race) once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "callplane-bin")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "callplane")
		built.out, built.err = exec.Command("go", "build", "-race", "-o", built.path, ".").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("build: %v\n%s", built.err, built.out)
	}
	return built.path
}

// startSim runs a simulator subcommand and waits for its /stats.
func startSim(t *testing.T, bin string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	stats := freeAddr(t)
	cmd := exec.Command(bin, append(append([]string{"simulate"}, args...), "--stats-addr", stats)...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("simulator %v:\n%s", args[:1], tail(out.String(), 20))
		}
	})
	waitHTTP(t, "http://"+stats+"/stats")
	return cmd, stats
}

// TestNodeProcessKilledMidCampaign kills one of three simulated nodes (its process) while
// a campaign runs over all of them: the node is marked down, takes no new call from then
// on, the campaign completes, and no contact is lost or dialed beyond max_attempts.
func TestNodeProcessKilledMidCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	fsA, fsB, astURL := freeAddr(t), freeAddr(t), freeAddr(t)
	startSim(t, bin, "freeswitch", "--listen", fsA, "--time-scale", "40", "--seed", "1")
	victim, _ := startSim(t, bin, "freeswitch", "--listen", fsB, "--time-scale", "40", "--seed", "2")
	startSim(t, bin, "asterisk", "--listen", astURL, "--username", "cp", "--password", "pw", "--time-scale", "40", "--seed", "3")

	c := startApp(t,
		NodeConfig{Name: "fs-a", Kind: "freeswitch", Address: fsA, Password: "ClueCon",
			DialTemplate: "sofia/gateway/x/{number}", MaxCalls: 10, Pools: []string{"default"}, Weight: 1},
		NodeConfig{Name: "fs-b", Kind: "freeswitch", Address: fsB, Password: "ClueCon",
			DialTemplate: "sofia/gateway/x/{number}", MaxCalls: 10, Pools: []string{"default"}, Weight: 1},
		NodeConfig{Name: "ast-c", Kind: "asterisk", Address: "http://" + astURL, Username: "cp", Password: "pw",
			DialTemplate: "PJSIP/{number}@x", MaxCalls: 10, Pools: []string{"default"}, Weight: 1},
	)
	type node struct {
		Name       string `json:"name"`
		Up         bool   `json:"up"`
		Originated int    `json:"originated"`
	}
	nodes := func() map[string]node {
		var r struct {
			Nodes []node `json:"nodes"`
		}
		c.json("GET", "/api/v1/media/nodes", nil, &r)
		m := map[string]node{}
		for _, n := range r.Nodes {
			m[n.Name] = n
		}
		return m
	}

	var camp struct {
		ID int64 `json:"id"`
	}
	c.json("POST", "/api/v1/campaigns", map[string]any{
		"name": "node dies", "dial_mode": "broadcast", "max_concurrent": 24, "calls_per_second": 100,
		"max_attempts": 3, "retry_after_seconds": 1,
	}, &camp)
	body, _ := csvWithBadRows(200)
	c.do("POST", fmt.Sprintf("/api/v1/campaigns/%d/contacts", camp.ID), "text/csv", body, nil)
	c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil)

	deadline := time.Now().Add(time.Minute)
	for nodes()["fs-b"].Originated < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("fs-b never got calls: %+v", nodes())
		}
		time.Sleep(10 * time.Millisecond)
	}
	killed := time.Now()
	victim.Process.Signal(syscall.SIGKILL)
	victim.Wait()
	for nodes()["fs-b"].Up {
		if time.Since(killed) > time.Minute {
			t.Fatal("fs-b still up a minute after its process died")
		}
		time.Sleep(10 * time.Millisecond)
	}
	detected := time.Since(killed)
	atDown := nodes()["fs-b"].Originated

	st := c.waitCompleted(camp.ID)
	after := nodes()
	if after["fs-b"].Originated != atDown {
		t.Errorf("fs-b took %d calls after it was marked down", after["fs-b"].Originated-atDown)
	}
	var list contactsResp
	c.json("GET", fmt.Sprintf("/api/v1/campaigns/%d/contacts?limit=1000", camp.ID), nil, &list)
	for _, ct := range list.Contacts {
		if ct.Attempts < 1 || ct.Attempts > 3 || ct.Status == "pending" || ct.Status == "dialing" {
			t.Errorf("contact %s: status %s after %d attempts", ct.Phone, ct.Status, ct.Attempts)
		}
	}
	t.Logf("fs-b marked down %v after its process was killed; stats %+v; originated per node: fs-a %d, fs-b %d, ast-c %d",
		detected.Round(time.Millisecond), st, after["fs-a"].Originated, after["fs-b"].Originated, after["ast-c"].Originated)
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not come up: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func tail(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
