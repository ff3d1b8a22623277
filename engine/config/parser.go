package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/kplay-dev/kplay/engine/internal/hclsafe"
)

// Parser reads HCL files and keeps their sources, so diagnostics can be printed with
// snippets. A Parser is not safe for concurrent use.
type Parser struct {
	files map[string]*hcl.File
}

// NewParser returns an empty parser.
func NewParser() *Parser { return &Parser{files: map[string]*hcl.File{}} }

// Files returns every file parsed so far, keyed by the name used in diagnostics.
func (p *Parser) Files() map[string]*hcl.File { return p.files }

// ParseFile parses the named file from disk.
func (p *Parser) ParseFile(path string) (*hcl.File, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read file",
			Detail:   fmt.Sprintf("Reading %s failed: %v.", path, err),
		}}
	}
	return p.ParseSource(src, path)
}

// ParseFS parses the named file of fsys; name is what diagnostics show.
func (p *Parser) ParseFS(fsys fs.FS, path, name string) (*hcl.File, hcl.Diagnostics) {
	src, err := fs.ReadFile(fsys, path)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read file",
			Detail:   fmt.Sprintf("Reading %s failed: %v.", name, err),
		}}
	}
	return p.ParseSource(src, name)
}

// ParseSource parses src as native HCL syntax under the given file name. A name parsed
// before gives the same file again, without its diagnostics. The file is nil when src was
// refused before parsing: not UTF-8, or nested too deeply.
func (p *Parser) ParseSource(src []byte, name string) (*hcl.File, hcl.Diagnostics) {
	if f, ok := p.files[name]; ok {
		if f.Body == nil {
			// Refused before parsing, or not HCL: the first call reported why.
			return nil, nil
		}
		return f, nil
	}
	if diags := hclsafe.CheckConfig(src, name); diags.HasErrors() {
		p.files[name] = &hcl.File{Bytes: src}
		return nil, diags
	}
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if f != nil {
		p.files[name] = f
	} else {
		p.files[name] = &hcl.File{Bytes: src}
	}
	return f, diags
}

// AddSource records a non-HCL source (a template) so diagnostics in it get snippets.
func (p *Parser) AddSource(name string, src []byte) {
	if _, ok := p.files[name]; !ok {
		p.files[name] = &hcl.File{Bytes: src}
	}
}

// hclFiles lists the *.hcl files of dir in fsys in the order their blocks are taken.
func hclFiles(fsys fs.FS, dir string) ([]string, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && filepath.Ext(e.Name()) == ".hcl" {
			names = append(names, e.Name())
		}
	}
	// main.hcl first, then the others by name: a role's later files build on what main.hcl
	// sets up (the pki role's CA before the certificates it signs).
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == "main.hcl") != (names[j] == "main.hcl") {
			return names[i] == "main.hcl"
		}
		return names[i] < names[j]
	})
	return names, nil
}
