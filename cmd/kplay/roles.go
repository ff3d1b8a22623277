package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/modules"
	"github.com/kplay-dev/kplay/engine/output"
	"github.com/kplay-dev/kplay/roles"
)

func newRolesCmd() *cobra.Command {
	dir := "roles"
	cmd := &cobra.Command{
		Use:   "roles",
		Short: "List, show and export roles, embedded or in ./roles",
		Long: `Roles come from two places: the roles/ directory beside the playbook (here: --dir, by
default ./roles) and the roles built into kplay. A role on disk wins over an embedded role
of the same name.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", dir,
		"directory of local roles, which win over embedded ones")
	cmd.AddCommand(newRolesListCmd(&dir), newRolesShowCmd(&dir), newRolesExportCmd(&dir))
	return cmd
}

func newRolesListCmd(dir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List every role with where it comes from and its number of variables",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return listRoles(cmd, roleSource(*dir)) },
	}
}

func newRolesShowCmd(dir *string) *cobra.Command {
	return &cobra.Command{
		Use:               "show NAME",
		Short:             "Show a role's variables: type, default as written, description",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRoles(dir, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			return showRole(cmd, roleSource(*dir), args[0])
		},
	}
}

func newRolesExportCmd(dir *string) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "export NAME",
		Short: "Copy an embedded role to DIR/NAME, where it overrides the embedded one",
		Long: `Copies the files of a role built into kplay to DIR/NAME (DIR is --dir, ./roles by
default). A playbook beside DIR then uses the copy, so the role can be edited without
rebuilding kplay. An existing DIR/NAME is left alone unless --force, which replaces it.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRoles(dir, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			return exportRole(cmd, *dir, args[0], force)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace DIR/NAME if it exists, deleting its files")
	return cmd
}

func roleSource(dir string) config.RoleSource {
	return config.RoleSource{Dir: dir, Embedded: roles.FS}
}

// roleLoader is a loader for src with the cluster variables read first, so a role that
// declares one again is reported.
func roleLoader(src config.RoleSource) (*config.Loader, hcl.Diagnostics) {
	loader := config.NewLoader(modules.Specs(), src)
	return loader, loadClusterVars(loader)
}

func listRoles(cmd *cobra.Command, src config.RoleSource) error {
	loader, diags := roleLoader(src)
	names := src.Names()
	sort.Strings(names)
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tORIGIN\tVARIABLES")
	for _, name := range names {
		r, d := loader.LoadRole(name, hcl.Range{})
		diags = append(diags, d...)
		if r != nil {
			fmt.Fprintf(tw, "%s\t%s\t%d\n", name, roleOrigin(r), len(r.Variables))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return roleDiagnostics(cmd.ErrOrStderr(), loader, diags)
}

// roleOrigin says "embedded" or the role's directory, noting when that directory hides an
// embedded role: the user may not know the copy is what runs.
func roleOrigin(r *config.Role) string {
	if strings.HasPrefix(r.Origin, "embedded/") {
		return "embedded"
	}
	if isEmbeddedRole(r.Name) {
		return r.Origin + " (overrides embedded)"
	}
	return r.Origin
}

func showRole(cmd *cobra.Command, src config.RoleSource, name string) error {
	loader, diags := roleLoader(src)
	r := loader.Cluster
	if name != "cluster" {
		if err := checkRoleName(name, src.Names(), "no role"); err != nil {
			return err
		}
		var d hcl.Diagnostics
		r, d = loader.LoadRole(name, hcl.Range{})
		diags = append(diags, d...)
	}
	if err := roleDiagnostics(cmd.ErrOrStderr(), loader, diags); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if name != "cluster" {
		defer fmt.Fprintln(out, "\n(every role also sees the cluster variables: kplay roles show cluster)")
	}
	fmt.Fprintf(out, "role %s: %s, %s, %s, %s\n", r.Name, roleOrigin(r),
		count(len(r.Variables), "variable"), count(len(r.Tasks), "task"), count(len(r.Handlers), "handler"))
	files := loader.Parser.Files()
	for _, vn := range r.VarOrder {
		printVariable(out, r.Variables[vn], files)
	}
	return nil
}

const varLabelWidth = len("description: ")

func printVariable(w io.Writer, v *config.Variable, files map[string]*hcl.File) {
	field := func(label, value string) {
		fmt.Fprintf(w, "  %-*s%s\n", varLabelWidth, label+":", value)
	}
	fmt.Fprintf(w, "\n%s\n", v.Name)
	field("type", typeString(v.Type))
	switch {
	case v.Default == nil:
		field("default", "none: the variable is required")
	case v.Sensitive:
		// Kept off the terminal and out of scrollback; the role's source has it.
		field("default", "(sensitive)")
	default:
		field("default", sourceText(files, v.Default.Range(), 2+varLabelWidth))
	}
	if v.Sensitive {
		field("sensitive", "true")
	}
	if v.Description != "" {
		field("description", v.Description)
	}
}

func typeString(ty cty.Type) string {
	if ty == cty.DynamicPseudoType {
		return "any"
	}
	return typeexpr.TypeString(ty)
}

// sourceText is the text of rng as written, its continuation lines moved from their place
// in the file to indent columns, so a multi-line default keeps its shape when printed.
func sourceText(files map[string]*hcl.File, rng hcl.Range, indent int) string {
	f := files[rng.Filename]
	if f == nil || rng.End.Byte > len(f.Bytes) {
		return "(source not available)"
	}
	src := f.Bytes
	lineStart := strings.LastIndexByte(string(src[:rng.Start.Byte]), '\n') + 1
	line := string(src[lineStart:rng.Start.Byte])
	margin := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
	lines := strings.Split(string(src[rng.Start.Byte:rng.End.Byte]), "\n")
	for i := 1; i < len(lines); i++ {
		lines[i] = strings.Repeat(" ", indent) + strings.TrimPrefix(lines[i], margin)
	}
	return strings.Join(lines, "\n")
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// roleDiagnostics prints diags and turns errors into exit 4. A role missing or unreadable
// is reported at no place, as no playbook named it.
func roleDiagnostics(w io.Writer, loader *config.Loader, diags hcl.Diagnostics) error {
	for _, d := range diags {
		if d.Subject != nil && d.Subject.Filename == "" {
			d.Subject = nil
		}
	}
	if len(diags) > 0 {
		output.Diagnostics(w, loader.Parser.Files(), diags, colorOn(w))
	}
	if diags.HasErrors() {
		return &exitError{code: exitInvalid, msg: fmt.Sprintf("%d error(s) in roles", countErrors(diags))}
	}
	return nil
}

func checkRoleName(name string, names []string, what string) error {
	for _, n := range names {
		if n == name {
			return nil
		}
	}
	msg := fmt.Sprintf("%s named %q", what, name)
	if s := config.NameSuggestion(name, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else {
		msg += "; kplay roles list shows them all"
	}
	return &exitError{code: exitBadOptions, msg: msg}
}

func embeddedRoleNames() []string {
	entries, _ := fs.ReadDir(roles.FS, ".")
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

func isEmbeddedRole(name string) bool {
	st, err := fs.Stat(roles.FS, name)
	return err == nil && st.IsDir()
}

func exportRole(cmd *cobra.Command, dir, name string, force bool) error {
	if err := checkRoleName(name, embeddedRoleNames(), "no embedded role"); err != nil {
		return err
	}
	target := filepath.Join(dir, name)
	if _, err := os.Lstat(target); err == nil && !force {
		return &exitError{code: exitBadOptions, msg: fmt.Sprintf(
			"%s already exists; nothing was written (pass --force to replace it and its files)", target)}
	}
	if err := placeRole(dir, name, target); err != nil {
		return &exitError{code: exitBadOptions, msg: fmt.Sprintf("export %s: %v", name, err)}
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "exported role %s to %s\n", name, target)
	if dir = filepath.Clean(dir); filepath.Base(dir) == "roles" {
		fmt.Fprintf(out, "a playbook in %s now uses it instead of the embedded %s role\n",
			filepath.Dir(dir), name)
	} else {
		fmt.Fprintln(out, "note: kplay only looks for roles in the roles/ directory beside a playbook;",
			"move it there to use it")
	}
	return nil
}

// placeRole copies the embedded role into a temporary directory beside target and then
// moves it into place, so target is either the old role or the complete new one.
func placeRole(dir, name, target string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, "."+name+".export-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := copyEmbedded(name, tmp); err != nil {
		return err
	}
	return replaceDir(tmp, target)
}

// copyEmbedded writes every file of the embedded directory src below dst.
func copyEmbedded(src, dst string) error {
	return fs.WalkDir(roles.FS, src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, src), "/")
		to := filepath.Join(dst, filepath.FromSlash(rel))
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		data, err := fs.ReadFile(roles.FS, path.Clean(p))
		if err != nil {
			return err
		}
		return os.WriteFile(to, data, 0o644)
	})
}

// replaceDir renames dir to target, moving an existing target aside first and deleting it
// only once the new one is in place.
func replaceDir(dir, target string) error {
	if _, err := os.Lstat(target); err != nil {
		return os.Rename(dir, target)
	}
	old := dir + ".old"
	if err := os.Rename(target, old); err != nil {
		return err
	}
	if err := os.Rename(dir, target); err != nil {
		if rerr := os.Rename(old, target); rerr != nil {
			return fmt.Errorf("%w; the previous role is at %s", err, old)
		}
		return err
	}
	return os.RemoveAll(old)
}

// completeRoles offers role names for shell completion.
func completeRoles(dir *string, embeddedOnly bool) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names := embeddedRoleNames()
		if !embeddedOnly {
			names = roleSource(*dir).Names()
		}
		sort.Strings(names)
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
