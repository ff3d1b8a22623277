package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/cobra"

	"github.com/kplay-dev/kplay/engine/config"
	"github.com/kplay-dev/kplay/engine/output"
)

// stdinPath is the path argument that stands for standard input.
const stdinPath = "-"

type fmtFlags struct {
	check, diff, write bool
}

func newFmtCmd() *cobra.Command {
	f := &fmtFlags{}
	cmd := &cobra.Command{
		Use:   "fmt [flags] [PATH...]",
		Short: "Rewrite HCL files in the canonical layout",
		Long: `Formats HCL files as hclwrite lays them out: indentation, spacing, aligned equals signs.

A PATH is a file, a directory (its *.hcl files, walked recursively, skipping hidden
directories and testdata) or - for standard input; the default is the current directory.
Without flags, kplay fmt prints the formatted content of a single file. Files with syntax
errors are reported and left unchanged.

The flags may also be written with one dash (-check, -diff, -write), as terraform fmt takes them.

Exit codes: 0 done (with --check: every file is formatted), 2 with --check: some files need
formatting (they are listed), 4 a file has a syntax error, 5 bad options or unreadable paths.`,
		Example: `  kplay fmt site.hcl           # print site.hcl formatted
  kplay fmt -w .               # rewrite every *.hcl file below here in place
  kplay fmt --check --diff .   # list and show what is not formatted; exit 2 if anything`,
		// Flags are parsed by hand so that terraform's single-dash spellings work too.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			paths, help, err := parseFmtArgs(cmd, args)
			if err != nil || help {
				return err
			}
			return runFmt(cmd, f, paths)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.check, "check", false,
		"list files that are not formatted and exit 2 if there are any; change nothing")
	fl.BoolVar(&f.diff, "diff", false, "show the changes formatting makes, as unified diffs")
	fl.BoolVarP(&f.write, "write", "w", false, "rewrite files in place (atomically) and list them")
	return cmd
}

// parseFmtArgs parses args after turning "-check" into "--check", for each long flag of cmd.
// help reports that --help was asked for and printed.
func parseFmtArgs(cmd *cobra.Command, args []string) (paths []string, help bool, err error) {
	fl := cmd.Flags()
	norm := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			norm = append(norm, args[i:]...)
			break
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		singleDash := strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--")
		if singleDash && len(name) > 1 && fl.Lookup(name) != nil {
			a = "-" + a
		}
		norm = append(norm, a)
	}
	if err := fl.Parse(norm); err != nil {
		return nil, false, &exitError{code: exitBadOptions, msg: err.Error()}
	}
	if h, _ := fl.GetBool("help"); h {
		return nil, true, cmd.Help()
	}
	paths = fl.Args()
	if len(paths) == 0 {
		paths = []string{"."}
	}
	return paths, false, nil
}

// fmtRun is one kplay fmt: what it found and what it reports.
type fmtRun struct {
	flags       *fmtFlags
	out         io.Writer
	parser      *config.Parser
	diags       hcl.Diagnostics
	unformatted int
}

func runFmt(cmd *cobra.Command, f *fmtFlags, paths []string) error {
	if f.check && f.write {
		return &exitError{code: exitBadOptions,
			msg: "--check and -w exclude each other: --check changes nothing"}
	}
	files, err := fmtTargets(paths)
	if err != nil {
		return &exitError{code: exitBadOptions, msg: err.Error()}
	}
	if err := checkFmtMode(f, files); err != nil {
		return err
	}
	r := &fmtRun{flags: f, out: cmd.OutOrStdout(), parser: config.NewParser()}
	for _, name := range files {
		if err := r.file(cmd.InOrStdin(), name); err != nil {
			return err
		}
	}
	return r.finish(cmd.ErrOrStderr())
}

// checkFmtMode refuses combinations of flags and paths that have no sensible meaning.
func checkFmtMode(f *fmtFlags, files []string) error {
	stdin := false
	for _, name := range files {
		stdin = stdin || name == stdinPath
	}
	switch {
	case stdin && len(files) > 1:
		return &exitError{code: exitBadOptions,
			msg: "- (standard input) cannot be mixed with other paths"}
	case stdin && f.write:
		return &exitError{code: exitBadOptions, msg: "-w cannot rewrite standard input"}
	case !f.check && !f.diff && !f.write && len(files) != 1:
		return &exitError{code: exitBadOptions, msg: fmt.Sprintf(
			"%d files found: without flags kplay fmt prints one file; pass -w to rewrite them, "+
				"--check to list those that need it, or --diff to show the changes", len(files))}
	}
	return nil
}

// file formats one file and does with the result what the flags ask.
func (r *fmtRun) file(stdin io.Reader, name string) error {
	src, err := readSource(stdin, name)
	if err != nil {
		return &exitError{code: exitBadOptions, msg: err.Error()}
	}
	label := name
	if name == stdinPath {
		label = "<stdin>"
	}
	// hclwrite formats token by token and would happily lay out broken syntax.
	if _, diags := r.parser.ParseSource(src, label); diags.HasErrors() {
		r.diags = append(r.diags, diags...)
		return nil
	}
	formatted := hclwrite.Format(src)
	f := r.flags
	if !f.check && !f.diff && !f.write {
		_, err := r.out.Write(formatted)
		return err
	}
	if bytes.Equal(src, formatted) {
		return nil
	}
	r.unformatted++
	if f.diff {
		fmt.Fprint(r.out, output.UnifiedDiff(label, string(src), string(formatted)))
	}
	if f.write {
		if err := rewrite(name, formatted); err != nil {
			return &exitError{code: exitBadOptions, msg: err.Error()}
		}
	}
	if f.check || f.write {
		fmt.Fprintln(r.out, label)
	}
	return nil
}

// finish reports syntax errors, which win over unformatted files.
func (r *fmtRun) finish(stderr io.Writer) error {
	if len(r.diags) > 0 {
		output.Diagnostics(stderr, r.parser.Files(), r.diags, colorOn(stderr))
	}
	if r.diags.HasErrors() {
		return &exitError{code: exitInvalid, msg: fmt.Sprintf(
			"%d syntax error(s); files with errors were left unchanged", countErrors(r.diags))}
	}
	if r.flags.check && r.unformatted > 0 {
		return &exitError{code: exitFailed, msg: fmt.Sprintf(
			"%d file(s) need formatting; run kplay fmt -w", r.unformatted)}
	}
	return nil
}

func readSource(stdin io.Reader, name string) ([]byte, error) {
	if name == stdinPath {
		src, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		return src, nil
	}
	return os.ReadFile(name)
}

// fmtTargets expands paths into the files to format, in the order given and walked. A file
// named explicitly is formatted whatever its extension.
func fmtTargets(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		if p == stdinPath {
			files = append(files, p)
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, bareError(err))
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		found, err := hclFilesBelow(p)
		if err != nil {
			return nil, err
		}
		files = append(files, found...)
	}
	return files, nil
}

// hclFilesBelow walks root for *.hcl files, skipping hidden directories and testdata, which
// holds deliberately broken or odd input.
func hclFilesBelow(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && strings.HasSuffix(d.Name(), ".hcl") {
			files = append(files, p)
		}
		return nil
	})
	return files, err
}

// rewrite replaces the file at path (through a symlink, its target) with data, keeping its
// mode.
func rewrite(path string, data []byte) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	st, err := os.Stat(real)
	if err != nil {
		return err
	}
	return writeAtomic(real, data, st.Mode().Perm(), true)
}

// writeAtomic writes data to a temporary file beside path and moves it into place, so a
// crash never leaves half a file. Unless replace is set, an existing path is an error
// wrapping fs.ErrExist, however late it appeared: a hard link never replaces its target.
func writeAtomic(path string, data []byte, mode fs.FileMode, replace bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && replace {
		err = os.Rename(tmp.Name(), path)
	} else if err == nil {
		err = os.Link(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, bareError(err))
	}
	return nil
}

// bareError drops the temporary file's name from an os error: the user never saw that file.
func bareError(err error) error {
	var le *os.LinkError
	var pe *fs.PathError
	switch {
	case errors.As(err, &le):
		return le.Err
	case errors.As(err, &pe):
		return pe.Err
	}
	return err
}
