package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
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

// ParseSource parses src as native HCL syntax under the given file name.
func (p *Parser) ParseSource(src []byte, name string) (*hcl.File, hcl.Diagnostics) {
	if f, ok := p.files[name]; ok {
		return f, nil
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

// hclFiles lists the *.hcl files of dir in fsys, sorted by name, which is the order in which
// their blocks are taken.
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
	sort.Strings(names)
	return names, nil
}
