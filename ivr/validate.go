package ivr

import (
	"slices"
	"strings"
)

// validate checks the flow as a graph: the start node, targets, reachability and loops
// with no way out. Decoding problems are already recorded.
func (l *loader) validate(f *Flow) {
	switch {
	case l.start == nil:
		l.errorf(l.root, "missing start")
	case f.Start != "" && f.Nodes[f.Start] == nil:
		l.errorf(l.start, "start: no node named %q", f.Start)
	}
	for _, name := range f.order {
		for _, e := range f.Nodes[name].edges {
			if e.to != "" && f.Nodes[e.to] == nil {
				l.add(SeverityError, e.line, e.col, "no node named %q", e.to)
			}
		}
	}
	if f.Nodes[f.Start] != nil {
		reached := map[string]bool{f.Start: true}
		queue := []string{f.Start}
		for len(queue) > 0 {
			n := f.Nodes[queue[0]]
			queue = queue[1:]
			for _, e := range n.edges {
				if f.Nodes[e.to] != nil && !reached[e.to] {
					reached[e.to] = true
					queue = append(queue, e.to)
				}
			}
		}
		for _, name := range f.order {
			if n := f.Nodes[name]; !reached[name] {
				l.add(SeverityWarning, n.Line, n.Col, "node %q cannot be reached from start %q", name, f.Start)
			}
		}
	}
	l.checkLoops(f)
}

// checkLoops reports every strongly connected set of nodes that can neither reach an
// exit (a hangup or transfer node, or a hang-up target) nor waits for the caller's input
// with a timeout (menu, collect): a call entering it would never end.
func (l *loader) checkLoops(f *Flow) {
	exits := canExit(f)
	for _, scc := range sccs(f) {
		first := f.Nodes[scc[0]]
		cyclic := len(scc) > 1
		for _, e := range first.edges {
			cyclic = cyclic || e.to == first.Name
		}
		if !cyclic || exits[first.Name] {
			continue
		}
		waits := false
		for _, name := range scc {
			k := f.Nodes[name].Kind
			waits = waits || k == KindMenu || k == KindCollect
		}
		if waits {
			continue
		}
		l.add(SeverityError, first.Line, first.Col,
			"loop with no way out through %s: no hangup, transfer or caller input (menu, collect) is reachable from it",
			strings.Join(scc, ", "))
	}
}

// canExit returns the nodes from which an exit can be reached. A broken node (unknown
// kind) or an unknown target counts as an exit, so that an error is not reported twice.
// It walks the edges backwards from the exits: linear in the size of the flow.
func canExit(f *Flow) map[string]bool {
	out := map[string]bool{}
	preds := map[string][]string{}
	var todo []string
	for _, name := range f.order {
		n := f.Nodes[name]
		ok := n.Kind == "" || n.Kind == KindHangup || n.Kind == KindTransfer
		for _, e := range n.edges {
			if e.to == "" || f.Nodes[e.to] == nil {
				ok = true
			} else {
				preds[e.to] = append(preds[e.to], name)
			}
		}
		if ok && !out[name] {
			out[name] = true
			todo = append(todo, name)
		}
	}
	for len(todo) > 0 {
		name := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, p := range preds[name] {
			if !out[p] {
				out[p] = true
				todo = append(todo, p)
			}
		}
	}
	return out
}

// sccs returns the strongly connected components of the node graph (Tarjan), each with
// its nodes in file order, the components ordered by their first node.
func sccs(f *Flow) [][]string {
	pos := map[string]int{}
	for i, name := range f.order {
		pos[name] = i
	}
	var (
		index   = map[string]int{}
		low     = map[string]int{}
		onStack = map[string]bool{}
		stack   []string
		out     [][]string
	)
	var visit func(v string)
	visit = func(v string) {
		index[v] = len(index)
		low[v] = index[v]
		stack = append(stack, v)
		onStack[v] = true
		for _, e := range f.Nodes[v].edges {
			w := e.to
			if f.Nodes[w] == nil {
				continue
			}
			if _, seen := index[w]; !seen {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			slices.SortFunc(comp, func(a, b string) int { return pos[a] - pos[b] })
			out = append(out, comp)
		}
	}
	for _, name := range f.order {
		if _, seen := index[name]; !seen {
			visit(name)
		}
	}
	slices.SortFunc(out, func(a, b []string) int { return pos[a[0]] - pos[b[0]] })
	return out
}
