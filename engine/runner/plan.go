package runner

import (
	"fmt"
	"sort"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/inventory"
)

// PlayPlan is what a run would do in one play, without connecting to anything: the hosts
// after --limit and the tasks the tags select, in order.
type PlayPlan struct {
	Name  string
	Hosts []string
	Tasks []TaskPlan
}

// TaskPlan is one selected task with every tag it carries.
type TaskPlan struct {
	Name string
	Tags []string
}

// Plan lists, per play, the hosts and tasks a run with these tags and limit would touch.
// It is what --list-hosts, --list-tasks and --list-tags print.
func Plan(pb *config.Playbook, inv *inventory.Inventory, tags Tags, limit string) ([]PlayPlan, error) {
	var allowed map[*inventory.Host]bool
	if limit != "" {
		hosts, err := inv.Resolve(limit)
		if err != nil {
			return nil, fmt.Errorf("--limit: %w", err)
		}
		allowed = map[*inventory.Host]bool{}
		for _, h := range hosts {
			allowed[h] = true
		}
	}
	var plans []PlayPlan
	for _, p := range pb.Plays {
		hosts, err := inv.Resolve(p.Hosts)
		if err != nil {
			return nil, err
		}
		pp := PlayPlan{Name: p.Name}
		for _, h := range hosts {
			if allowed == nil || allowed[h] {
				pp.Hosts = append(pp.Hosts, h.Name)
			}
		}
		for _, t := range p.AllTasks() {
			if tags.Selects(p, t) {
				tt := TaskTags(p, t)
				sort.Strings(tt)
				pp.Tasks = append(pp.Tasks, TaskPlan{Name: t.FullName(), Tags: dedupe(tt)})
			}
		}
		plans = append(plans, pp)
	}
	return plans, nil
}

func dedupe(sorted []string) []string {
	var out []string
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}
