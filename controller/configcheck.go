package main

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// checkYAML walks a configuration document against the type it decodes into and returns
// the problems a person can act on, each with its line and YAML path: an unknown key with
// the closest known one, and a duration written without a unit (yaml.v3 would read
// "lost_grace: 100" as 100 nanoseconds).
func checkYAML(n *yaml.Node, t reflect.Type, path string) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.DocumentNode {
		var errs []error
		for _, c := range n.Content {
			errs = append(errs, checkYAML(c, t, path)...)
		}
		return errs
	}
	if n.Kind == yaml.AliasNode {
		return nil
	}
	if t == reflect.TypeFor[time.Duration]() {
		if n.Kind == yaml.ScalarNode && n.Value != "" {
			if _, err := time.ParseDuration(n.Value); err != nil {
				if n.Tag == "!!int" || n.Tag == "!!float" {
					return []error{fmt.Errorf("line %d: %s: %s has no unit: write %ss (or ms, m, h)", n.Line, path, n.Value, n.Value)}
				}
				return []error{fmt.Errorf("line %d: %s: %q is not a duration such as 15s, 500ms or 2m", n.Line, path, n.Value)}
			}
		}
		return nil
	}
	var errs []error
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			at := join(path, k.Value)
			ft, ok := fields[k.Value]
			if !ok {
				errs = append(errs, fmt.Errorf("line %d: %s: unknown key%s", k.Line, at, suggest(k.Value, fields)))
				continue
			}
			errs = append(errs, checkYAML(v, ft, at)...)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for i, c := range n.Content {
				errs = append(errs, checkYAML(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				errs = append(errs, checkYAML(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))...)
			}
		}
	}
	return errs
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the YAML keys of struct t (inline structs included) to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case name == "-":
		case strings.Contains(opts, "inline"):
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
		case name == "":
			out[strings.ToLower(f.Name)] = f.Type
		default:
			out[name] = f.Type
		}
	}
	return out
}

// suggest names the known key closest to key, when one is close enough to be a typo.
func suggest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for k := range fields {
		if d := editDistance(key, k); d < bestD || d == bestD && k < best {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// checkConfigYAML parses b and checks it against Config.
func checkConfigYAML(b []byte) error {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return err
	}
	return errors.Join(checkYAML(&root, reflect.TypeFor[Config](), "")...)
}
