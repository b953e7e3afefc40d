package ivr

import "testing"

func TestMermaid(t *testing.T) {
	f := mustParse(t, `
id: small
version: 1
start: main
nodes:
  main:
    kind: menu
    prompt: {tts: Press 1 or 2.}
    choices:
      "1": route
      "2": agent
    on_invalid: end
  route:
    kind: branch
    conditions:
      - if: contact.fields.vip != "" && call.number >= 3
        then: agent
    else: end
  agent:
    kind: transfer
    queue: sales
    on_fail: end
  end:
    kind: hangup
    prompt: {tts: Bye.}
`)
	want := `flowchart TD
    start((start))
    n0{"main<br/>menu"}
    n1{"route<br/>branch"}
    n2[["agent<br/>transfer"]]
    n3(["end<br/>hangup"])
    hangup(["hang up"])
    start --> n0
    n0 -->|"1"| n1
    n0 -->|"2"| n2
    n0 -->|"invalid"| n3
    n0 -->|"timeout"| hangup
    n1 -->|"contact.fields.vip != #quot;#quot; && call.number #gt;= 3"| n2
    n1 -->|"else"| n3
    n2 -->|"fail"| n3
`
	if got := Mermaid(f); got != want {
		t.Errorf("Mermaid:\n%s\nwant:\n%s", got, want)
	}
}
