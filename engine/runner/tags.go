package runner

import (
	"fmt"
	"sort"

	"github.com/kplay-dev/kplay/engine/config"
)

// Tags selects tasks by tag, with Ansible's meanings: a task's tags are its own, its
// role's name and its play's tags; "always" runs unless skipped by name; "never" runs only
// when one of its tags is asked for by name.
type Tags struct {
	Only []string
	Skip []string
}

// TaskTags returns every tag of t in play p.
func TaskTags(p *config.Play, t *config.Task) []string {
	tags := append([]string{}, t.Tags...)
	if t.Role != nil {
		tags = append(tags, t.Role.Name)
	}
	return append(tags, p.Tags...)
}

// Selects reports whether the task runs.
func (s Tags) Selects(p *config.Play, t *config.Task) bool {
	tags := TaskTags(p, t)
	if intersects(tags, s.Skip) {
		return false
	}
	if has(tags, "never") {
		for _, tag := range tags {
			if tag != "never" && has(s.Only, tag) {
				return true
			}
		}
		return has(s.Only, "never")
	}
	if len(s.Only) == 0 || has(s.Only, "all") || has(tags, "always") {
		return true
	}
	return intersects(tags, s.Only)
}

// Check returns an error naming any asked-for tag that no task of the playbook has, with
// the nearest real one: a typo in --tags would otherwise run nothing, silently.
func (s Tags) Check(pb *config.Playbook) error {
	known := map[string]bool{"all": true, "always": true, "never": true}
	for _, p := range pb.Plays {
		for _, t := range append(p.AllTasks(), p.AllHandlers()...) {
			for _, tag := range TaskTags(p, t) {
				known[tag] = true
			}
		}
	}
	var names []string
	for k := range known {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, tag := range append(append([]string{}, s.Only...), s.Skip...) {
		if !known[tag] {
			msg := fmt.Sprintf("no task has the tag %q", tag)
			if sug := config.NameSuggestion(tag, names); sug != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			}
			return fmt.Errorf("%s; tags in %s: %v", msg, pb.Path, names)
		}
	}
	return nil
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if has(b, x) {
			return true
		}
	}
	return false
}
