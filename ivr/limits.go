package ivr

import (
	"gopkg.in/yaml.v3"
)

// tooLarge reports, as the file's one problem, a document beyond MaxValues (aliases
// counted as copies) or MaxNodes; the caller stops there. It runs before anything else
// looks at the document, in time linear in its size.
func (l *loader) tooLarge(root *yaml.Node) bool {
	size := map[*yaml.Node]int{}
	if n := values(root, size); n > MaxValues {
		l.probs = nil
		if n == cyclic {
			l.add(SeverityError, 1, 1, "a YAML alias names a value that contains it")
		} else {
			l.add(SeverityError, 1, 1, "flow is too large: more than %d YAML values, aliases counted as copies", MaxValues)
		}
		return true
	}
	if root.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], resolve(root.Content[i+1])
		if k.Value == "nodes" && v.Kind == yaml.MappingNode && len(v.Content)/2 > MaxNodes {
			l.probs = nil
			l.errorf(k, "flow has %d nodes: the limit is %d", len(v.Content)/2, MaxNodes)
			return true
		}
	}
	return false
}

// cyclic is what values returns for an alias inside the value it names.
const cyclic = MaxValues + 2

// values counts the YAML values of n, following aliases; it stops counting past
// MaxValues. size memoizes counts by node (-1: being counted), so that each node is
// counted once however many aliases name it.
func values(n *yaml.Node, size map[*yaml.Node]int) int {
	if n == nil {
		return 0
	}
	if s, ok := size[n]; ok {
		if s < 0 {
			return cyclic
		}
		return s
	}
	if n.Kind == yaml.AliasNode {
		return values(n.Alias, size)
	}
	size[n] = -1
	total := 1
	for _, c := range n.Content {
		s := values(c, size)
		if s == cyclic {
			total = cyclic
			break
		}
		if total += s; total > MaxValues {
			total = MaxValues + 1
			break
		}
	}
	size[n] = total
	return total
}
