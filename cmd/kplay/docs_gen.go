package main

// The reference pages under docs/ are generated here from the code, so they cannot drift:
// modules and their arguments come from the module registry, roles from the embedded
// roles, expression roots and functions from config and eval/funcs. What the code does not
// export (the loaders' schemas, one-line descriptions) is written below, and
// docs_gen_test.go checks it against the real loaders and tables.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/cobra"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/eval/funcs"
	"github.com/kplay-dev/kplay/engine/modules"
	"github.com/kplay-dev/kplay/roles"
)

// docsCommand is how the pages are regenerated; the test failure message names it too.
const docsCommand = "go run ./cmd/kplay docs docs"

// generatedNote heads every page, so nobody edits one by hand.
const generatedNote = "<!-- Generated from the code by `" + docsCommand + "`; edit cmd/kplay/docs_gen.go " +
	"or the code it reads, not this file. -->\n\n"

// rolesIndex is the page of docs/roles/ that lists the role pages.
const rolesIndex = "README.md"

func newDocsCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "docs DIR",
		Short:  "Write the reference pages generated from the code into DIR",
		Long:   "Writes DIR/modules.md, DIR/language.md and DIR/roles/*.md, and removes role pages\nof roles that no longer exist.",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := writeDocs(args[0]); err != nil {
				return &exitError{code: exitInvalid, msg: err.Error()}
			}
			return nil
		},
	}
}

// writeDocs writes every page below dir. DIR/roles/ belongs to the generator: a page there
// that it did not write is removed, as its role is gone.
func writeDocs(dir string) error {
	pages, err := generateDocs()
	if err != nil {
		return err
	}
	if err := removeStaleRolePages(dir, pages); err != nil {
		return err
	}
	for _, name := range docsSortedKeys(pages) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write docs: %w", err)
		}
		if err := os.WriteFile(p, pages[name], 0o644); err != nil {
			return fmt.Errorf("write docs: %w", err)
		}
	}
	return nil
}

func removeStaleRolePages(dir string, pages map[string][]byte) error {
	old, err := filepath.Glob(filepath.Join(dir, "roles", "*.md"))
	if err != nil {
		return fmt.Errorf("write docs: %w", err)
	}
	for _, p := range old {
		if _, keep := pages["roles/"+filepath.Base(p)]; !keep {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("write docs: %w", err)
			}
		}
	}
	return nil
}

// generateDocs returns every page by its '/'-separated path below the docs directory. It
// fails when a module or function has no description here, or a description names
// nothing.
func generateDocs() (map[string][]byte, error) {
	pages := map[string][]byte{}
	mods, err := modulesPage(modules.Specs())
	if err != nil {
		return nil, err
	}
	pages["modules.md"] = mods
	lang, err := languagePage(funcNames(), modules.Names())
	if err != nil {
		return nil, err
	}
	pages["language.md"] = lang
	rolePages, err := rolePages()
	if err != nil {
		return nil, err
	}
	for name, page := range rolePages {
		pages["roles/"+name] = page
	}
	return pages, nil
}

// undocumentedError says which names lack a description, and which descriptions name
// nothing that exists.
type undocumentedError struct {
	Kind    string // "module" or "function"
	Missing []string
	Stale   []string
}

func (e *undocumentedError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, fmt.Sprintf("%ss without a description in cmd/kplay/docs_gen.go: %s",
			e.Kind, strings.Join(e.Missing, ", ")))
	}
	if len(e.Stale) > 0 {
		parts = append(parts, fmt.Sprintf("descriptions in cmd/kplay/docs_gen.go of %ss that do not exist: %s",
			e.Kind, strings.Join(e.Stale, ", ")))
	}
	return strings.Join(parts, "; ")
}

// checkDescribed compares the names that exist with those described; nil when they match.
func checkDescribed[V any](kind string, names []string, described map[string]V) error {
	e := &undocumentedError{Kind: kind}
	exists := map[string]bool{}
	for _, n := range names {
		exists[n] = true
		if _, ok := described[n]; !ok {
			e.Missing = append(e.Missing, n)
		}
	}
	for _, n := range docsSortedKeys(described) {
		if !exists[n] {
			e.Stale = append(e.Stale, n)
		}
	}
	sort.Strings(e.Missing)
	if len(e.Missing) == 0 && len(e.Stale) == 0 {
		return nil
	}
	return e
}

// mdPage collects a markdown page.
type mdPage struct{ bytes.Buffer }

func newMDPage(title string) *mdPage {
	p := &mdPage{}
	p.WriteString(generatedNote)
	p.line("# " + title)
	return p
}

// line writes its arguments and a newline; a call without arguments writes an empty line.
func (p *mdPage) line(parts ...string) {
	p.WriteString(strings.Join(parts, ""))
	p.WriteByte('\n')
}

func (p *mdPage) para(text string) {
	p.line()
	p.line(text)
}

func (p *mdPage) heading(level int, text string) {
	p.line()
	p.line(strings.Repeat("#", level), " ", text)
	p.line()
}

func (p *mdPage) tableHeader(cols ...string) {
	p.line("| ", strings.Join(cols, " | "), " |")
	p.line(strings.Repeat("|---", len(cols)), "|")
}

func (p *mdPage) row(cells ...string) {
	for i, c := range cells {
		cells[i] = mdCell(c)
	}
	p.line("| ", strings.Join(cells, " | "), " |")
}

// mdCell makes text safe inside a table cell: one line, pipes escaped (also inside code
// spans, as GitHub's tables require).
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// mdCode quotes s as a markdown code span, with a fence longer than any run of backticks in s.
func mdCode(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

func mdCodeList(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = mdCode(n)
	}
	return strings.Join(out, ", ")
}

// ---- modules.md

// moduleDoc is what the module registry cannot say about a module.
type moduleDoc struct {
	summary string
	// deployHost marks a module that works on the deploy host's own files, in kplay's
	// process: it refuses any other host.
	deployHost bool
}

var moduleDocs = map[string]moduleDoc{
	"assert": {summary: "Fails the host unless every condition in `that` is true; the failure " +
		"names the condition that was false. Changes nothing."},
	"command": {summary: "Runs a program from an argument list. Each word is quoted, so no " +
		"value is ever interpreted by a shell. Not run in check mode: its registered result " +
		"is unknown there."},
	"copy": {summary: "Puts a file at `dest` from `src` or from `content`. The file goes to a " +
		"temporary name beside `dest` and is renamed into place; nothing is sent when the " +
		"sha256 already matches. Shows a unified diff with `--diff`."},
	"debug": {summary: "Shows a value in the output: a string as it is, anything else as JSON. " +
		"Changes nothing."},
	"download": {deployHost: true, summary: "Fetches `url` to `dest`, verified against `sha256` " +
		"or `sha512`; one of them is mandatory. A file already there with the right checksum " +
		"is not fetched again."},
	"file": {summary: "Makes `path` a directory, an existing file, an empty file, a symlink or " +
		"absent, with the given mode and owner."},
	"keypair": {deployHost: true, summary: "Keeps a private key and its public key, for signing " +
		"service-account tokens. An existing key is never replaced."},
	"kubeconfig": {deployHost: true, summary: "Writes a self-contained kubeconfig (CA, client " +
		"certificate and key embedded), mode 0600, only when its content would change."},
	"pki": {deployHost: true, summary: "Keeps a certificate authority (`is_ca = true`) or a " +
		"certificate signed by it. A valid CA is never replaced; a certificate is reissued " +
		"only when missing, expiring within `renew_before_days`, signed by another CA, or no " +
		"longer matching the subject and SANs asked for."},
	"shell": {summary: "Runs a command line with `sh -c`, for pipes and redirections. Quoting is " +
		"the author's job: pass values through `shellquote()`. Not run in check mode."},
	"systemd": {summary: "Starts, stops, restarts or reloads a unit, and enables it at boot or " +
		"not. A unit that fails to start is reported with the tail of its journal."},
	"template": {summary: "Renders a template of the role's `templates/` directory (HCL " +
		"template syntax, with the task's scope) and puts the result like `copy`."},
	"unarchive": {deployHost: true, summary: "Unpacks a .tar, .tar.gz, .tgz or .zip archive so " +
		"that `dest` holds exactly its content, refusing members that would land outside it."},
	"wait_for": {summary: "Waits, on the host itself, until a TCP `port` accepts connections or " +
		"a `url` answers with a 2xx status: a service bound to 127.0.0.1 answers only there."},
}

func modulesPage(specs config.Modules) ([]byte, error) {
	if err := checkDescribed("module", specs.Names(), moduleDocs); err != nil {
		return nil, err
	}
	p := newMDPage("Module reference")
	p.para("A task runs exactly one module, written as a block inside it: " +
		"`task \"etcd unit\" { template { src = \"etcd.service\" dest = \"/etc/systemd/system/etcd.service\" } }`. " +
		"Arguments are expressions evaluated for each host. Types are written in HCL's type " +
		"syntax; `any` takes any value. Required arguments come first, then the others by name. " +
		"Every module predicts its change in `--check` mode without making it.")
	p.line()
	p.tableHeader("module", "runs on", "what it does")
	for _, name := range specs.Names() {
		p.row(fmt.Sprintf("[%s](#%s)", mdCode(name), name), moduleRunsOn(name, false), firstSentence(moduleDocs[name].summary))
	}
	for _, name := range specs.Names() {
		moduleSection(p, specs[name])
	}
	return p.Bytes(), nil
}

func moduleRunsOn(module string, long bool) string {
	switch {
	case !moduleDocs[module].deployHost && long:
		return "any host."
	case !moduleDocs[module].deployHost:
		return "any host"
	case long:
		return "the deploy host only (`connection = \"local\"`). It works on the deploy host's " +
			"own files inside kplay and fails on any other host: run it in a play on the " +
			"deploy host, or with `delegate_to`."
	default:
		return "deploy host only"
	}
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

func moduleSection(p *mdPage, spec *config.ModuleSpec) {
	p.heading(2, spec.Name)
	p.line(moduleDocs[spec.Name].summary)
	p.para("Runs on " + moduleRunsOn(spec.Name, true))
	p.line()
	p.tableHeader("argument", "type", "required", "description")
	for _, a := range sortedModuleArgs(spec.Args) {
		req := ""
		if a.Required {
			req = "yes"
		}
		p.row(mdCode(a.Name), mdCode(typeString(a.Type)), req, argDoc(a))
	}
}

// sortedModuleArgs orders a module's arguments: required ones first, then by name.
func sortedModuleArgs(args []config.ArgSpec) []config.ArgSpec {
	out := append([]config.ArgSpec{}, args...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Required != out[j].Required {
			return out[i].Required
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func argDoc(a config.ArgSpec) string {
	doc := a.Doc
	if a.AbsPath {
		doc += " An absolute path."
	}
	if a.Template {
		doc += " A literal path is checked to exist when the playbook loads."
	}
	return strings.TrimSpace(doc)
}

// ---- language.md

// langBlock is one block type of the language, as its loader's schema accepts it. The
// loaders keep their schemas unexported; docs_gen_test.go proves this copy against them.
type langBlock struct {
	typ string
	// label is the meaning of the block's one label, "" for a block without one; example
	// is the label in examples.
	label, example string
	doc            string
	attrs          []langAttr
	blocks         []*langBlock
	// module marks a block that holds one module block (a task or handler).
	module bool
	// argsLike is a block whose arguments this one shares: they are documented and shown
	// in full there only.
	argsLike *langBlock
}

// langAttr is one argument of a block. example is an HCL expression that the loader
// accepts; examples built from it are loaded by the tests.
type langAttr struct {
	name, typ, doc, example string
	required                bool
	// perHost marks an expression evaluated for each host; the others are read once at
	// load and may not refer to variables.
	perHost bool
}

// langFile is one kind of file: its top level is a body without a block header.
type langFile struct {
	kind, title, doc string
	body             *langBlock
}

// exampleModule is the module block of example tasks.
const exampleModule = "debug {\n msg = \"hello ${host.name}\"\n}\n"

func taskAttrs(notify string) []langAttr {
	return []langAttr{
		{name: "when", typ: "bool", perHost: true, example: `host.name != "n3"`,
			doc: "Run the task on a host only when this is true; otherwise it is skipped."},
		{name: "for_each", typ: "list, set, map or object", perHost: true, example: `toset(groups.etcd)`,
			doc: "Run the module once per element; `each.key` and `each.value` name the current one. " +
				"The registered result holds every element's."},
		{name: "changed_when", typ: "bool", perHost: true, example: `registered.result.rc == 0`,
			doc: "Whether the task changed something, instead of what the module says. Sees the " +
				"task's own result as `registered.NAME` when it registers one."},
		{name: "failed_when", typ: "bool", perHost: true, example: `registered.result.rc > 1`,
			doc: "Fail the host when this is true, whatever the module said. Sees the task's own result."},
		{name: "until", typ: "bool", perHost: true, example: `registered.result.rc == 0`,
			doc: "Run the module again, `delay` apart, until this is true or `retries` are used up. " +
				"Sees the task's own result."},
		{name: "delegate_to", typ: "string", perHost: true, example: `"deploy"`,
			doc: "Run the module on this inventory host instead, with the original host's variables."},
		{name: "environment", typ: "map(string)", perHost: true, example: `{ HTTP_PROXY = "http://proxy:3128" }`,
			doc: "Environment variables exported to the task's commands."},
		{name: "tags", typ: "list(string)", example: `["config"]`,
			doc: "Names that `--tags` and `--skip-tags` select by. `always` runs unless skipped by " +
				"name; `never` only when another of its tags is asked for."},
		{name: "notify", typ: "list(string)", example: notify,
			doc: "Handlers to run at the end of the play when the task changed something on a host."},
		{name: "register", typ: "string", example: `"result"`,
			doc: "Keep the task's result as `registered.NAME` for later tasks on the same host."},
		{name: "become", typ: "bool", example: `true`,
			doc: "Run as root through `sudo -n`; overrides the play's and the host's setting."},
		{name: "run_once", typ: "bool", example: `false`,
			doc: "Run on the first host of the batch only; every host gets its registered result."},
		{name: "ignore_errors", typ: "bool", example: `false`,
			doc: "A failure is reported but the host goes on with the play."},
		{name: "retries", typ: "number", example: `10`,
			doc: "How many more times to try while `until` is false; 3 when `until` is set without it."},
		{name: "delay", typ: "duration", example: `"2s"`,
			doc: "Wait between tries: `\"2s\"`, `\"1m\"`, or a number of seconds. Default `\"1s\"`."},
		{name: "timeout", typ: "duration", example: `"5m"`,
			doc: "Fail the task on a host that takes longer than this."},
		{name: "serial_items", typ: "bool", example: `false`,
			doc: "Run the items of `for_each` one after the other. By default up to 8 run side by side on a host, as independent steps."},
		{name: "refresh_facts", typ: "bool", example: `false`,
			doc: "Gather the host's facts again after the task changed something, for later tasks to see."},
	}
}

var (
	taskBlock = &langBlock{typ: "task", label: "the task's name, shown in the output", example: "say hello",
		module: true, attrs: taskAttrs(`["restart service"]`),
		doc: "One module call, with the settings that decide whether, where, how often and as whom it runs. " +
			"It holds exactly one module block (see [the module reference](modules.md))."}
	handlerBlock = &langBlock{typ: "handler", label: "the name tasks notify", example: "restart service",
		module: true, attrs: taskAttrs(`[]`), argsLike: taskBlock,
		doc: "A task that runs only when notified by a changed task, once, at the end of the play, " +
			"in definition order. A notification whose play failed first is kept in the state " +
			"directory and replayed on the next run. A handler takes the same arguments as a task."}
	rescueBlock = &langBlock{typ: "rescue", blocks: []*langBlock{taskBlock},
		doc: "Tasks run on the hosts a task of the block failed on. A rescued host counts as rescued, not failed."}
	alwaysBlock = &langBlock{typ: "always", blocks: []*langBlock{taskBlock},
		doc: "Tasks run on every host of the block, failed or not."}
	blockBlock = &langBlock{typ: "block", label: "the block's name", example: "configure",
		blocks: []*langBlock{taskBlock, rescueBlock, alwaysBlock},
		doc:    "Tasks that share a condition, tags and become, with error handling. Blocks do not nest.",
		attrs: []langAttr{
			{name: "when", typ: "bool", perHost: true, example: `true`,
				doc: "Evaluated once per host before the block's first task; false skips the whole block."},
			{name: "tags", typ: "list(string)", example: `["config"]`, doc: "Added to every task of the block."},
			{name: "become", typ: "bool", example: `true`, doc: "The default `become` of the block's tasks."},
		}}
	playBlock = &langBlock{typ: "play", label: "the play's name, unique in the playbook", example: "etcd",
		blocks: []*langBlock{taskBlock, handlerBlock, blockBlock},
		doc: "Maps a host pattern to roles and tasks. The roles' tasks run first, in order, then " +
			"the play's own; handlers run at the end.",
		attrs: []langAttr{
			{name: "hosts", typ: "string", required: true, example: `"etcd"`,
				doc: "Host pattern: host and group names, `all`, globs (`n*`), separated by `,` or `:`; " +
					"`&group` keeps only hosts also in it, `!name` removes."},
			{name: "roles", typ: "list(string)", example: `["etcd"]`,
				doc: "Roles whose tasks run first. `roles/NAME` beside the playbook wins over the embedded role."},
			{name: "vars", typ: "map", example: `{ etcd_heartbeat_interval = 300 }`,
				doc: "Variables above the inventory's and below `-e`. Values are data: they may call " +
					"functions but not refer to variables."},
			{name: "tags", typ: "list(string)", example: `["db"]`, doc: "Added to every task of the play."},
			{name: "become", typ: "bool", example: `true`,
				doc: "The default `become` of the play's tasks, over the host's."},
			{name: "gather_facts", typ: "bool", example: `true`,
				doc: "Gather facts (or use fresh cached ones) before the first task. Default true."},
			{name: "any_errors_fatal", typ: "bool", example: `false`,
				doc: "Stop the play on every host as soon as one host fails."},
			{name: "serial", typ: "number, string or list", example: `[1, "50%"]`,
				doc: "Rolling batches that each run the whole play: a host count, a share (`\"50%\"`), " +
					"or a list of them whose last entry repeats. Default: one batch of every host."},
			{name: "max_fail_percentage", typ: "number", example: `20`,
				doc: "Stop the play when more than this share (0 to 100) of a batch has failed."},
		}}
	validationBlock = &langBlock{typ: "validation",
		doc: "A check of the variable's winning value; a failed check names the layer the value came from.",
		attrs: []langAttr{
			{name: "condition", typ: "bool", required: true, perHost: true, example: `startswith(var.stage_dir, "/")`,
				doc: "True when the value is acceptable; refers to the variable as `var.NAME`."},
			{name: "error_message", typ: "string", required: true, example: `"stage_dir is an absolute path."`,
				doc: "Shown when the condition is false."},
		}}
	variableBlock = &langBlock{typ: "variable", label: "the variable's name, lower_snake_case", example: "stage_dir",
		blocks: []*langBlock{validationBlock},
		doc:    "A documented input of the role, seen as `var.NAME`; `kplay roles show` lists them.",
		attrs: []langAttr{
			{name: "default", typ: "any", perHost: true, example: `"/stage"`,
				doc: "The lowest-precedence value; may refer to other variables, hosts and facts. " +
					"Without one the variable is required."},
			{name: "type", typ: "type", example: `string`,
				doc: "A type constraint (`string`, `number`, `bool`, `list(string)`, `map(number)`, ...) " +
					"the winning value is converted to. Default `any`."},
			{name: "description", typ: "string", example: `"The deploy host's stage directory."`,
				doc: "What the variable is for."},
			{name: "sensitive", typ: "bool", example: `false`,
				doc: "Keep the value out of output and logs."},
		}}
	defaultsBlock = &langBlock{typ: "defaults",
		doc: "Connection settings every host inherits unless it sets its own.",
		attrs: []langAttr{
			{name: "user", typ: "string", example: `"root"`,
				doc: "SSH user, over `ssh_config`'s `User`. Default `\"root\"`."},
			{name: "port", typ: "number", example: `22`, doc: "SSH port, over `ssh_config`'s `Port`. Default 22."},
			{name: "key_files", typ: "list(string)", example: `["~/.ssh/id_ed25519"]`,
				doc: "Private key files, over `ssh_config`'s `IdentityFile`; relative to the inventory file; `~/` is the home directory."},
			{name: "known_hosts", typ: "string", example: `"known_hosts"`,
				doc: "known_hosts file that host keys are checked against. Default `~/.ssh/known_hosts`."},
			{name: "become", typ: "bool", example: `false`, doc: "Run every task through `sudo -n`."},
			{name: "jump", typ: "string", example: `""`,
				doc: "A host of the inventory every SSH host is reached through (ssh's ProxyJump), but itself. Default: none."},
			{name: "ssh_config", typ: "string", example: `"~/.ssh/config"`,
				doc: "OpenSSH client configuration that fills in what the inventory leaves unset: address, user, port, key files, jump host. " +
					"Relative to the inventory file; a missing file is ignored; `\"\"` reads none. Default `~/.ssh/config`."},
		}}
	hostBlock = &langBlock{typ: "host", label: "the host's name: letters, digits, `-`, `_` and `.`", example: "n1",
		doc: "One machine. Every host is in the implicit group `all`.",
		attrs: []langAttr{
			{name: "address", typ: "string", example: `"10.0.0.11"`,
				doc: "Where to connect. Default: `ssh_config`'s `HostName` for the host's name, else the name."},
			{name: "port", typ: "number", example: `22`, doc: "SSH port, over `defaults`."},
			{name: "user", typ: "string", example: `"root"`, doc: "SSH user, over `defaults`."},
			{name: "key_files", typ: "list(string)", example: `["~/.ssh/id_ed25519"]`,
				doc: "Private key files, over `defaults`."},
			{name: "connection", typ: "string", example: `"ssh"`,
				doc: "`\"ssh\"` (default) or `\"local\"`: the deploy host, the machine running kplay, reached without SSH."},
			{name: "become", typ: "bool", example: `false`, doc: "Run tasks through `sudo -n`, over `defaults`."},
			{name: "jump", typ: "string", example: `""`,
				doc: "A host of the inventory to reach this one through, over `defaults`; `\"\"` connects directly. Both hosts' keys are checked."},
			{name: "vars", typ: "map", example: `{ etcd_heartbeat_interval = 300 }`,
				doc: "Host variables, over group variables. Values are data: functions, no variables."},
		}}
	groupBlock = &langBlock{typ: "group", label: "the group's name; a block named `all` only adds variables", example: "etcd",
		doc: "A named set of hosts and child groups.",
		attrs: []langAttr{
			{name: "hosts", typ: "list(string)", example: `["n1"]`, doc: "Member hosts."},
			{name: "children", typ: "list(string)", example: `[]`,
				doc: "Groups whose hosts are members too; cycles are an error."},
			{name: "vars", typ: "map", example: `{ etcd_quota_backend_bytes = 4294967296 }`,
				doc: "Group variables, over inventory `vars`; parents apply before children."},
		}}
)

var langFiles = []langFile{
	{kind: "playbook", title: "Playbook", body: &langBlock{blocks: []*langBlock{playBlock}},
		doc: "A playbook (`site.hcl`) is an ordered list of `play` blocks."},
	{kind: "role", title: "Role", body: &langBlock{blocks: []*langBlock{variableBlock, taskBlock, handlerBlock, blockBlock}},
		doc: "A role is a directory (`roles/NAME/`) of `*.hcl` files, read `main.hcl` first and then " +
			"the others by name, with `templates/` and `files/` beside them. Its files hold these blocks."},
	{kind: "inventory", title: "Inventory", body: &langBlock{blocks: []*langBlock{defaultsBlock, hostBlock, groupBlock},
		attrs: []langAttr{
			{name: "vars", typ: "map", example: `{ stage_dir = "/stage" }`,
				doc: "Variables of every host, over role defaults. Values are data: functions, no variables."},
			{name: "state_dir", typ: "string", example: `"state"`,
				doc: "The cluster's state (CA and keys, fact cache), relative to the inventory file. Default `\"state\"`."},
		}},
		doc: "An inventory (`hosts.hcl`) holds hosts, groups and their variables."},
}

func languagePage(functions, moduleNames []string) ([]byte, error) {
	if err := checkDescribed("function", functions, funcDocs); err != nil {
		return nil, err
	}
	p := newMDPage("Language reference")
	p.para("Every block and argument kplay reads, where each may stand, and what expressions may " +
		"use. Arguments marked *at load* are read once when the file loads and may not refer to " +
		"variables; those marked *per host* are expressions evaluated for each host.")
	documented := map[*langBlock]bool{}
	shown := map[*langBlock]bool{}
	for _, f := range langFiles {
		fileSection(p, f, moduleNames, documented, shown)
	}
	rootsSection(p)
	functionsSection(p, functions)
	return p.Bytes(), nil
}

// fileSection documents the blocks of a kind of file that earlier sections did not, and
// shows an example; documented and shown carry what earlier sections covered.
func fileSection(p *mdPage, f langFile, moduleNames []string, documented, shown map[*langBlock]bool) {
	p.heading(2, f.title)
	p.line(f.doc)
	if len(f.body.attrs) > 0 {
		p.line()
		attrTable(p, f.body.attrs)
	}
	p.para("Blocks: " + blockTypes(f.body.blocks) + ".")
	var above []*langBlock
	for _, b := range f.body.blocks {
		if documented[b] {
			above = append(above, b)
		}
	}
	if len(above) > 0 {
		p.line(blockTypes(above) + " are as documented above.")
	}
	var walk func(b *langBlock)
	walk = func(b *langBlock) {
		if !documented[b] {
			documented[b] = true
			blockSection(p, b, moduleNames)
		}
		for _, c := range b.blocks {
			walk(c)
		}
	}
	for _, b := range f.body.blocks {
		walk(b)
	}
	p.heading(3, "Example")
	p.line("```hcl")
	p.WriteString(exampleSource(f, "", shown))
	p.line("```")
}

func blockTypes(blocks []*langBlock) string {
	var names []string
	for _, b := range blocks {
		names = append(names, mdCode(blockHeader(b)))
	}
	return strings.Join(names, ", ")
}

func blockHeader(b *langBlock) string {
	if b.label == "" {
		return b.typ
	}
	return b.typ + ` "NAME"`
}

func blockSection(p *mdPage, b *langBlock, moduleNames []string) {
	p.heading(3, mdCode(blockHeader(b)))
	p.line(b.doc)
	if b.label != "" {
		p.para("NAME is " + b.label + ".")
	}
	if len(b.attrs) > 0 && b.argsLike == nil {
		p.line()
		attrTable(p, b.attrs)
	}
	var inner []string
	if len(b.blocks) > 0 {
		inner = append(inner, blockTypes(b.blocks))
	}
	if b.module {
		inner = append(inner, "exactly one module block: "+mdCodeList(moduleNames))
	}
	if len(inner) > 0 {
		p.para("Blocks inside: " + strings.Join(inner, "; ") + ".")
	}
}

func attrTable(p *mdPage, attrs []langAttr) {
	p.tableHeader("argument", "type", "required", "evaluated", "description")
	for _, a := range attrs {
		req, when := "", "at load"
		if a.required {
			req = "yes"
		}
		if a.perHost {
			when = "per host"
		}
		p.row(mdCode(a.name), a.typ, req, when, a.doc)
	}
}

// exampleSource renders an example file of kind f, formatted as `kplay fmt` would. With
// shown nil it holds every documented argument in every block; otherwise a block already
// in shown gets only its required arguments, so a page's examples stay short. typo names
// one block or argument by its path (see langPaths) to write misspelled, for the test that
// proves the loader rejects it.
func exampleSource(f langFile, typo string, shown map[*langBlock]bool) string {
	e := &exampleWriter{typo: typo, shown: shown}
	e.body(f.body, f.kind, false)
	return string(hclwrite.Format([]byte(e.String())))
}

type exampleWriter struct {
	strings.Builder
	typo  string
	shown map[*langBlock]bool
}

func (e *exampleWriter) body(b *langBlock, at string, brief bool) {
	for _, a := range b.attrs {
		if !brief || a.required {
			fmt.Fprintf(e, "%s = %s\n", spellAt(a.name, at+"."+a.name, e.typo), a.example)
		}
	}
	if b.module {
		e.WriteString(exampleModule)
	}
	for _, c := range b.blocks {
		e.block(c, at+"/"+c.typ)
	}
}

func (e *exampleWriter) block(b *langBlock, at string) {
	brief := false
	if e.shown != nil {
		brief = e.shown[b] || (b.argsLike != nil && e.shown[b.argsLike])
		e.shown[b] = true
	}
	e.WriteString(spellAt(b.typ, at, e.typo))
	if b.label != "" {
		fmt.Fprintf(e, " %q", b.example)
	}
	e.WriteString(" {\n")
	e.body(b, at, brief)
	e.WriteString("}\n")
}

func spellAt(name, at, typo string) string {
	if at == typo {
		return misspellName(name)
	}
	return name
}

// misspellName turns a name into one no schema accepts.
func misspellName(name string) string { return name[:1] + "q" + name[1:] }

// langPaths lists the path of every block and argument in an example of f, as exampleSource
// takes them: "playbook/play/block.when" is the when argument of a block in a play.
func langPaths(f langFile) []string {
	var out []string
	var walk func(b *langBlock, at string)
	walk = func(b *langBlock, at string) {
		for _, a := range b.attrs {
			out = append(out, at+"."+a.name)
		}
		for _, c := range b.blocks {
			out = append(out, at+"/"+c.typ)
			walk(c, at+"/"+c.typ)
		}
	}
	walk(f.body, f.kind)
	return out
}

func rootsSection(p *mdPage) {
	p.heading(2, "Expressions")
	p.line("An expression may start with these names; anything else is an error at load.")
	p.line()
	p.tableHeader("name", "holds")
	for _, name := range docsSortedKeys(config.Roots) {
		p.row(mdCode(name), config.Roots[name])
	}
	p.para("Templates (the `template` module, `templatefile()`) use HCL template syntax " +
		"(`${...}`, `%{ for }`, `%{ if }`) and see the task's scope.")
}

func functionsSection(p *mdPage, functions []string) {
	p.heading(2, "Functions")
	p.line("Every function an expression or template may call.")
	p.line()
	p.tableHeader("function", "what it does")
	for _, name := range functions {
		p.row(mdCode(name+"()"), funcDocs[name])
	}
}

func funcNames() []string {
	return docsSortedKeys(funcs.Table(funcs.Options{}))
}

// funcDocs describes every function of funcs.Table in one line.
var funcDocs = map[string]string{
	"unixtime":        "The deploy host's clock, in seconds since 1970, read when the expression is evaluated.",
	"abs":             "The absolute value of a number.",
	"alltrue":         "True when every element of a list of bools is true (and for an empty list).",
	"anytrue":         "True when at least one element of a list of bools is true.",
	"base64decode":    "Decodes a standard base64 string to the text it holds.",
	"base64encode":    "Encodes a string as standard base64.",
	"basename":        "The last element of a slash-separated path.",
	"can":             "True when its argument evaluates without an error.",
	"ceil":            "The smallest whole number not less than a number.",
	"chomp":           "Removes newlines at the end of a string.",
	"chunklist":       "Splits a list into lists of at most the given size.",
	"cidrcontains":    "True when an address, or a whole prefix, lies inside a CIDR prefix.",
	"cidrhost":        "The address of host number N inside a CIDR prefix.",
	"cidrnetmask":     "The dotted netmask of an IPv4 CIDR prefix.",
	"cidrsubnet":      "A subnet of a CIDR prefix: extra prefix bits and a subnet number.",
	"coalesce":        "The first argument that is neither null nor an empty string.",
	"coalescelist":    "The first argument that is a non-empty list.",
	"compact":         "A list of strings without its empty strings.",
	"concat":          "Joins lists into one.",
	"contains":        "True when a list or set holds a value.",
	"csvdecode":       "Parses CSV text with a header line into a list of objects.",
	"dirname":         "A slash-separated path without its last element.",
	"distinct":        "A list without repeated elements, first occurrences kept.",
	"element":         "The list element at an index, wrapping around past the end.",
	"endswith":        "True when a string ends with a suffix.",
	"file":            "The content of a file on the deploy host, relative to the playbook's directory.",
	"fileexists":      "True when a file exists on the deploy host, relative to the playbook's directory.",
	"flatten":         "Replaces nested lists by their elements, recursively.",
	"floor":           "The largest whole number not greater than a number.",
	"format":          "Formats values with a printf-style specification.",
	"formatdate":      "Formats an RFC 3339 timestamp with a date and time pattern.",
	"formatlist":      "Applies `format` element-wise over lists, giving a list of strings.",
	"indent":          "Indents every line of a string but the first by a number of spaces.",
	"index":           "The index of the first occurrence of a value in a list.",
	"join":            "Joins a list of strings with a separator.",
	"jsondecode":      "Parses a JSON string into a value.",
	"jsonencode":      "Encodes a value as JSON.",
	"keys":            "The keys of a map or the attribute names of an object, sorted.",
	"length":          "The number of elements of a collection or characters of a string.",
	"lookup":          "A map's value for a key, or a default when the key is absent.",
	"lower":           "A string in lower case.",
	"max":             "The largest of some numbers.",
	"merge":           "Merges maps or objects; later keys win.",
	"min":             "The smallest of some numbers.",
	"parseint":        "Parses a string as a whole number in a base from 2 to 62.",
	"range":           "A list of numbers from a start up to an end, by a step.",
	"regex":           "The first match of a regular expression (its groups when it has any).",
	"regexall":        "Every match of a regular expression.",
	"replace":         "Replaces every occurrence of a substring (or a /regex/) in a string.",
	"reverse":         "A list in reverse order.",
	"setintersection": "The elements every given set holds.",
	"setsubtract":     "The elements of a set that a second set does not hold.",
	"setunion":        "The elements any given set holds.",
	"sha256":          "The sha256 of a string, in hex.",
	"sha512":          "The sha512 of a string, in hex.",
	"shellquote":      "Quotes a string as one word for a POSIX shell: use it for anything pasted into `shell`.",
	"slice":           "The elements of a list from a start index up to an end index.",
	"sort":            "A list of strings in lexical order.",
	"split":           "Splits a string at every occurrence of a separator.",
	"startswith":      "True when a string starts with a prefix.",
	"strcontains":     "True when a string contains a substring.",
	"strrev":          "A string with its characters in reverse order.",
	"substr":          "Part of a string by offset and length, in characters.",
	"templatefile":    "Renders a template file of the deploy host with the given variables.",
	"timeadd":         "Adds a duration such as \"10m\" to an RFC 3339 timestamp.",
	"title":           "A string with the first letter of every word in upper case.",
	"tobool":          "Converts a value to a bool.",
	"tolist":          "Converts a value to a list.",
	"tomap":           "Converts a value to a map.",
	"tonumber":        "Converts a value to a number.",
	"toset":           "Converts a value to a set.",
	"tostring":        "Converts a value to a string.",
	"trim":            "Removes the given characters from both ends of a string.",
	"trimprefix":      "Removes a prefix from a string, when it has it.",
	"trimspace":       "Removes white space from both ends of a string.",
	"trimsuffix":      "Removes a suffix from a string, when it has it.",
	"try":             "The first of its arguments that evaluates without an error.",
	"upper":           "A string in upper case.",
	"values":          "The values of a map or object, in the order of its sorted keys.",
	"zipmap":          "A map built from a list of keys and a list of values.",
}

// ---- roles/*.md

// rolePages returns a page for every embedded role, and the index, by file name.
func rolePages() (map[string][]byte, error) {
	loader := config.NewLoader(modules.Specs(), config.RoleSource{Embedded: roles.FS})
	if diags := loader.LoadClusterVars(roles.FS, "cluster.hcl", "embedded/roles/cluster.hcl"); diags.HasErrors() {
		return nil, fmt.Errorf("cluster variables: %w", errors.Join(diags.Errs()...))
	}
	names := embeddedRoleNames()
	sort.Strings(names)
	pages := map[string][]byte{clusterPage: clusterVarsPage(loader.Cluster, loader.Parser.Files())}
	summaries := []string{"- [cluster variables](" + clusterPage + "): the settings every role shares."}
	for _, name := range names {
		r, diags := loader.LoadRole(name, hcl.Range{})
		if diags.HasErrors() {
			return nil, fmt.Errorf("role %s: %w", name, errors.Join(diags.Errs()...))
		}
		header := roleHeader(name)
		pages[name+".md"] = rolePage(r, header, loader.Parser.Files())
		summaries = append(summaries, fmt.Sprintf("- [%s](%s.md): %s", mdCode(name), name, headerSummary(name, header)))
	}
	index := newMDPage("Roles")
	index.para("The roles built into kplay. `kplay roles export NAME` copies one to `./roles/NAME`, " +
		"where it wins over the embedded one.")
	index.line()
	for _, s := range summaries {
		index.line(s)
	}
	pages[rolesIndex] = index.Bytes()
	return pages, nil
}

// clusterPage documents roles/cluster.hcl.
const clusterPage = "cluster.md"

func clusterVarsPage(r *config.Role, files map[string]*hcl.File) []byte {
	p := newMDPage("Cluster variables")
	if header := fileHeader("cluster.hcl"); len(header) > 0 {
		p.para(strings.Join(header, "\n"))
	}
	p.para("`kplay roles show cluster` lists them too.")
	variablesSection(p, r, files)
	return p.Bytes()
}

// roleHeader returns the leading comment lines of the role's main.hcl without their
// comment markers; an empty line stands for a comment line with no text.
func roleHeader(name string) []string { return fileHeader(path.Join(name, "main.hcl")) }

// fileHeader returns the leading comment lines of an embedded file, as roleHeader does.
func fileHeader(name string) []string {
	src, err := fs.ReadFile(roles.FS, name)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(src), "\n") {
		l = strings.TrimSpace(l)
		text, ok := strings.CutPrefix(l, "#")
		if !ok {
			text, ok = strings.CutPrefix(l, "//")
		}
		if !ok {
			break
		}
		out = append(out, strings.TrimPrefix(text, " "))
	}
	return out
}

// headerSummary is the header's first paragraph, without a leading "NAME:".
func headerSummary(name string, header []string) string {
	var first []string
	for _, l := range header {
		if l == "" {
			break
		}
		first = append(first, l)
	}
	s := strings.TrimPrefix(strings.Join(first, " "), name+":")
	return strings.TrimSpace(s)
}

func rolePage(r *config.Role, header []string, files map[string]*hcl.File) []byte {
	p := newMDPage("Role " + mdCode(r.Name))
	if len(header) > 0 {
		p.para(strings.Join(header, "\n"))
	}
	p.para(fmt.Sprintf("Use it with `roles = [%q]` in a play; `kplay roles show %s` lists its "+
		"variables and `kplay roles export %s` copies it to `./roles/%s` to edit it.",
		r.Name, r.Name, r.Name, r.Name))
	variablesSection(p, r, files)
	tasksSection(p, "Tasks", "In the order they run.", r.Tasks)
	tasksSection(p, "Handlers", "Run at the end of the play when notified, in this order.", r.Handlers)
	return p.Bytes()
}

func variablesSection(p *mdPage, r *config.Role, files map[string]*hcl.File) {
	p.heading(2, "Variables")
	if len(r.VarOrder) == 0 {
		p.line("None.")
		return
	}
	p.tableHeader("name", "type", "default", "description")
	var long []*config.Variable
	for _, name := range r.VarOrder {
		v := r.Variables[name]
		def := defaultCell(v, files)
		if strings.Contains(def, "\n") {
			long = append(long, v)
			def = "see below"
		}
		p.row(mdCode(v.Name), mdCode(typeString(v.Type)), def, v.Description)
	}
	for _, v := range long {
		p.heading(3, "Default of "+mdCode(v.Name))
		p.line("```hcl")
		p.line(sourceText(files, v.Default.Range(), 0))
		p.line("```")
	}
	validationList(p, r)
}

// defaultCell is the default as written, "required" without one; a sensitive default is
// not shown, as `kplay roles show` does not show it.
func defaultCell(v *config.Variable, files map[string]*hcl.File) string {
	switch {
	case v.Default == nil:
		return "required"
	case v.Sensitive:
		return "(sensitive)"
	}
	text := sourceText(files, v.Default.Range(), 0)
	if strings.Contains(text, "\n") {
		return text
	}
	return mdCode(text)
}

func validationList(p *mdPage, r *config.Role) {
	var items []string
	for _, name := range r.VarOrder {
		for _, val := range r.Variables[name].Validation {
			items = append(items, fmt.Sprintf("- %s: %s", mdCode(name), val.ErrorMessage))
		}
	}
	if len(items) == 0 {
		return
	}
	p.heading(3, "Checks")
	p.line("A value that fails a check is an error that names the layer the value came from, with this message:")
	p.line()
	for _, it := range items {
		p.line(it)
	}
}

func tasksSection(p *mdPage, title, intro string, tasks []*config.Task) {
	p.heading(2, title)
	if len(tasks) == 0 {
		p.line("None.")
		return
	}
	p.line(intro)
	p.line()
	for i, t := range tasks {
		p.line(fmt.Sprintf("%d. %s", i+1, taskLine(t)))
	}
}

func taskLine(t *config.Task) string {
	s := fmt.Sprintf("%s: module %s", mdCode(t.Name), mdCode(t.Module))
	if t.Block != nil {
		s += fmt.Sprintf(", in block %s", mdCode(t.Block.Name))
		switch t.Section {
		case config.SectionRescue:
			s += " (rescue)"
		case config.SectionAlways:
			s += " (always)"
		}
	}
	if t.ForEach != nil {
		s += ", for each item"
	}
	var notify []string
	for _, n := range t.Notify {
		notify = append(notify, n.Name)
	}
	if len(notify) > 0 {
		s += "; notifies " + mdCodeList(notify)
	}
	if len(t.Tags) > 0 {
		s += "; tags " + mdCodeList(t.Tags)
	}
	return s
}

func docsSortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
