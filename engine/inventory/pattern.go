package inventory

import (
	"fmt"
	"path"
	"strings"
)

// Resolve returns the hosts a pattern selects, in inventory order. A pattern is a list of
// terms separated by ',' or ':'; a term is a host or group name, "all" or "*", or a glob
// such as "n*". A term prefixed with '&' narrows the selection to hosts it also matches;
// one prefixed with '!' removes the hosts it matches. Plain terms add hosts.
//
// An unknown name is an error, so a typo in --limit never silently selects nothing.
func (inv *Inventory) Resolve(pattern string) ([]*Host, error) {
	selected := map[*Host]bool{}
	var narrow, remove [][]*Host
	terms := splitPattern(pattern)
	if len(terms) == 0 {
		return nil, fmt.Errorf("empty host pattern")
	}
	for _, term := range terms {
		op, name := term[0], term
		if op == '&' || op == '!' {
			name = term[1:]
		}
		hosts, err := inv.match(name)
		if err != nil {
			return nil, err
		}
		switch op {
		case '&':
			narrow = append(narrow, hosts)
		case '!':
			remove = append(remove, hosts)
		default:
			for _, h := range hosts {
				selected[h] = true
			}
		}
	}
	if len(narrow)+len(remove) == len(terms) {
		// Only '&' and '!' terms: they narrow everything, as "!n3" means all but n3.
		for _, h := range inv.Hosts {
			selected[h] = true
		}
	}
	for _, set := range narrow {
		keep := map[*Host]bool{}
		for _, h := range set {
			keep[h] = selected[h]
		}
		selected = keep
	}
	for _, set := range remove {
		for _, h := range set {
			delete(selected, h)
		}
	}
	var out []*Host
	for _, h := range inv.Hosts {
		if selected[h] {
			out = append(out, h)
		}
	}
	return out, nil
}

func splitPattern(p string) []string {
	f := strings.FieldsFunc(p, func(r rune) bool { return r == ',' || r == ':' || r == ' ' })
	return f
}

func (inv *Inventory) match(name string) ([]*Host, error) {
	if name == "" {
		return nil, fmt.Errorf("empty term in host pattern")
	}
	if name == "*" || name == "all" {
		return inv.Hosts, nil
	}
	if strings.ContainsAny(name, "*?[") {
		if _, err := path.Match(name, ""); err != nil {
			return nil, fmt.Errorf("host pattern %q: %w", name, err)
		}
		var out []*Host
		for _, h := range inv.Hosts {
			if ok, _ := path.Match(name, h.Name); ok {
				out = append(out, h)
				continue
			}
			for _, g := range h.Groups {
				if ok, _ := path.Match(name, g.Name); ok {
					out = append(out, h)
					break
				}
			}
		}
		return out, nil
	}
	if h := inv.hostByName[name]; h != nil {
		return []*Host{h}, nil
	}
	if inv.groupByName[name] != nil {
		return inv.GroupHosts(name), nil
	}
	msg := fmt.Sprintf("no host or group named %q in %s", name, inv.Path)
	names := append(hostNames(inv), groupNames(inv)...)
	if s := suggest(name, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return nil, fmt.Errorf("%s", msg)
}
