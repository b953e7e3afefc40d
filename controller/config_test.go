package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfig(t *testing.T) {
	node := `
media:
  nodes:
    - name: fs1
      kind: freeswitch
      address: 127.0.0.1:8021
      password: ClueCon
      dial_template: "sofia/gateway/a/{number}"
`
	tests := []struct {
		name    string
		body    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "empty file takes defaults", body: "", check: func(t *testing.T, c Config) {
			if c.HTTP.Addr != "127.0.0.1:8080" || c.Contacts.DefaultRegion != "CN" || c.Demo.TimeScale != 20 {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{name: "node defaults", body: node, check: func(t *testing.T, c Config) {
			n := c.Media.Nodes[0]
			if len(n.Pools) != 1 || n.Pools[0] != "default" || n.Weight != 1 {
				t.Errorf("node defaults: %+v", n)
			}
		}},
		{name: "environment overrides", body: node, env: map[string]string{
			"DATABASE_URL": "postgres://x", "CALLPLANE_HTTP_ADDR": "0.0.0.0:9000", "CALLPLANE_ADMIN_TOKEN": "s3cret"},
			check: func(t *testing.T, c Config) {
				if c.Database.URL != "postgres://x" || c.HTTP.Addr != "0.0.0.0:9000" || c.Auth.AdminToken != "s3cret" {
					t.Errorf("env not applied: %+v", c)
				}
			}},
		{name: "unknown key names its line", body: "http:\n  adress: x\n", wantErr: "line 2: http.adress: unknown key"},
		{name: "a typo gets a suggestion", body: strings.Replace(node, "dial_template", "dial_templte", 1),
			wantErr: "media.nodes[0].dial_templte: unknown key; did you mean dial_template"},
		{name: "a prompt that runs an application", body: "dialer:\n  default_prompt: \"system::touch /tmp/x\"\n", wantErr: "dialer.default_prompt: prompt"},
		{name: "a duration without a unit", body: "dialer:\n  lost_grace: 100\n", wantErr: "line 2: dialer.lost_grace: 100 has no unit: write 100s"},
		{name: "a duration that is no duration", body: "dialer:\n  tick: soon\n", wantErr: `dialer.tick: "soon" is not a duration`},
		{name: "bad duration", body: "dialer:\n  tick: fast\n", wantErr: "line 2"},
		{name: "asterisk needs a URL and a user", body: strings.Replace(node, "freeswitch", "asterisk", 1), wantErr: `media.nodes[0].address "127.0.0.1:8021": want the ARI base URL`},
		{name: "unknown kind", body: strings.Replace(node, "freeswitch", "kamailio", 1), wantErr: `media.nodes[0].kind "kamailio": want freeswitch or asterisk`},
		{name: "asterisk node", body: `
media:
  nodes:
    - name: ast1
      kind: asterisk
      address: http://127.0.0.1:8088
      username: callplane
      password: x
      dial_template: "PJSIP/{number}@carrier-a"
`, check: func(t *testing.T, c Config) {
			if n := c.Media.Nodes[0]; n.Kind != "asterisk" || n.Username != "callplane" {
				t.Errorf("asterisk node: %+v", n)
			}
		}},
		{name: "template without number", body: strings.Replace(node, "{number}", "x", 1), wantErr: "dial_template"},
		{name: "template with a second leg", body: strings.Replace(node, "{number}", "{number},user/evil", 1), wantErr: "media.nodes[0].dial_template: endpoint"},
		{name: "duplicate node", body: node + `    - name: fs1
      kind: freeswitch
      address: 127.0.0.1:8022
      dial_template: "x/{e164}"
`, wantErr: `media.nodes[1].name "fs1": used twice`},
		{name: "bad address", body: strings.Replace(node, "127.0.0.1:8021", "localhost", 1), wantErr: "media.nodes[0].address"},
		{name: "bad region", body: "contacts:\n  default_region: china\n", wantErr: "default_region"},
		{name: "bad log level", body: "log:\n  level: loud\n", wantErr: "log.level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadConfig(writeConfig(t, tt.body), func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestExampleConfigsLoad(t *testing.T) {
	for _, f := range []string{"callplane.example.yaml", "callplane.demo.yaml", "callplane.compose.yaml"} {
		if _, err := LoadConfig(filepath.Join("..", "configs", f), func(string) string { return "" }); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
