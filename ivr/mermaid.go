package ivr

import (
	"fmt"
	"strings"
)

// Mermaid draws a flow as a Mermaid flowchart: one box per node labelled with its name and
// kind (branch, menu and collect as diamonds, hangup as a stadium, transfer as a
// subroutine), edges labelled with the digit, condition or failure that takes them, and a
// "hang up" terminal for the implicit hang-ups. Nodes are numbered in file order, so any
// node name is safe.
func Mermaid(f *Flow) string {
	ids := map[string]string{}
	for i, name := range f.order {
		ids[name] = fmt.Sprintf("n%d", i)
	}
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	b.WriteString("    start((start))\n")
	hangs := false
	for _, name := range f.order {
		n := f.Nodes[name]
		label := mermaidText(name) + "<br/>" + string(n.Kind)
		pre, post := "[\"", "\"]"
		switch n.Kind {
		case KindMenu, KindCollect, KindBranch:
			pre, post = "{\"", "\"}"
		case KindHangup:
			pre, post = "([\"", "\"])"
		case KindTransfer:
			pre, post = "[[\"", "\"]]"
		}
		fmt.Fprintf(&b, "    %s%s%s%s\n", ids[name], pre, label, post)
		for _, e := range n.edges {
			hangs = hangs || e.to == ""
		}
	}
	if hangs {
		b.WriteString("    hangup([\"hang up\"])\n")
	}
	if id, ok := ids[f.Start]; ok {
		fmt.Fprintf(&b, "    start --> %s\n", id)
	}
	for _, name := range f.order {
		for _, e := range f.Nodes[name].edges {
			to, ok := ids[e.to]
			if e.to == "" {
				to, ok = "hangup", true
			}
			if !ok {
				continue
			}
			if e.label == "" {
				fmt.Fprintf(&b, "    %s --> %s\n", ids[name], to)
			} else {
				fmt.Fprintf(&b, "    %s -->|\"%s\"| %s\n", ids[name], mermaidText(e.label), to)
			}
		}
	}
	return b.String()
}

// mermaidText escapes text for a quoted Mermaid label.
var mermaidText = strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "\n", " ").Replace
