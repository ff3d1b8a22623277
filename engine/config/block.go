package config

import (
	"github.com/hashicorp/hcl/v2"
)

// Block groups tasks that share a condition and tags, with error handling:
//
//	block "name" {
//	  when = ...          # evaluated once per host before the block's first task
//	  tags = [...]        # added to every task of the block
//	  become = true       # the default of every task of the block
//	  task "..." { ... }
//	  rescue { task "..." { ... } }   # runs on the hosts a task of the block failed on
//	  always { task "..." { ... } }   # runs on every host of the block, failed or not
//	}
//
// A host whose failure is rescued is counted as rescued, not failed, and goes on with the
// play. Blocks do not nest.
type Block struct {
	Name      string
	DeclRange hcl.Range
	When      hcl.Expression
	// Role is the role the block belongs to, nil in a playbook.
	Role   *Role
	Tasks  []*Task
	Rescue []*Task
	Always []*Task
}

// Section names where in its block a task stands.
type Section int

// The sections of a block.
const (
	SectionMain Section = iota
	SectionRescue
	SectionAlways
)

var blockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "when"}, {Name: "tags"}, {Name: "become"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "task", LabelNames: []string{"name"}},
		{Type: "rescue"}, {Type: "always"},
	},
}

var sectionSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "task", LabelNames: []string{"name"}}},
}

// decodeBlock reads a block; role is the role it belongs to (nil in a playbook). Its
// tasks come back in the order they are listed: main tasks, rescue, always.
func decodeBlock(b *hcl.Block, mods Modules, role *Role) (*Block, []*Task, hcl.Diagnostics) {
	blk := &Block{Name: b.Labels[0], DeclRange: b.DefRange, Role: role}
	content, diags := b.Body.Content(blockSchema)
	blk.When = expr(content.Attributes, "when")
	var tags []string
	diags = append(diags, literal(content.Attributes["tags"], &tags)...)
	var become *bool
	if at := content.Attributes["become"]; at != nil {
		var v bool
		diags = append(diags, literal(at, &v)...)
		become = &v
	}
	add := func(tb *hcl.Block, sec Section) *Task {
		t, d := decodeTask(tb, mods, false)
		diags = append(diags, d...)
		t.Role, t.Block, t.Section = role, blk, sec
		t.Tags = append(t.Tags, tags...)
		if t.Become == nil {
			t.Become = become
		}
		return t
	}
	var rescue, always []*hcl.Block
	for _, inner := range content.Blocks {
		switch inner.Type {
		case "task":
			blk.Tasks = append(blk.Tasks, add(inner, SectionMain))
		case "rescue":
			rescue = append(rescue, inner)
		case "always":
			always = append(always, inner)
		}
	}
	for _, sec := range []struct {
		blocks []*hcl.Block
		into   *[]*Task
		kind   Section
	}{{rescue, &blk.Rescue, SectionRescue}, {always, &blk.Always, SectionAlways}} {
		for _, sb := range sec.blocks {
			c, d := sb.Body.Content(sectionSchema)
			diags = append(diags, d...)
			for _, tb := range c.Blocks {
				*sec.into = append(*sec.into, add(tb, sec.kind))
			}
		}
	}
	all := append(append(append([]*Task{}, blk.Tasks...), blk.Rescue...), blk.Always...)
	return blk, all, diags
}
