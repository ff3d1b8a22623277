package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// maxNesting bounds how deeply brackets, strings, template sequences and conditionals may
// nest. hclsyntax parses by recursive descent without a limit, and a Go stack overflow is a
// fatal error that no recover catches, so nesting is measured on the tokens first. Written
// configuration stays far below the limit; only generated input reaches it.
const maxNesting = 500

// lexer is hclsyntax.LexConfig or hclsyntax.LexTemplate.
type lexer func(src []byte, name string, start hcl.Pos) (hclsyntax.Tokens, hcl.Diagnostics)

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
	if diags := checkSource(src, name, hclsyntax.LexConfig); diags.HasErrors() {
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

// checkSource refuses what hclsyntax cannot parse safely or would report confusingly: bytes
// that are not UTF-8, which it reports once per token and follows with bogus syntax errors,
// and nesting deeper than maxNesting.
func checkSource(src []byte, name string, lex lexer) hcl.Diagnostics {
	if !utf8.Valid(src) {
		return hcl.Diagnostics{invalidEncoding(src, name)}
	}
	tokens, _ := lex(src, name, hcl.InitialPos)
	return checkNesting(tokens)
}

// invalidEncoding cites the first byte of src that is not UTF-8.
func invalidEncoding(src []byte, name string) *hcl.Diagnostic {
	pos := hcl.InitialPos
	for len(src) > 0 {
		r, size := utf8.DecodeRune(src)
		if r == utf8.RuneError && size <= 1 {
			break
		}
		pos.Byte += size
		pos.Column++
		if r == '\n' {
			pos.Line++
			pos.Column = 1
		}
		src = src[size:]
	}
	end := pos
	end.Byte++
	end.Column++
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid character encoding",
		Detail: fmt.Sprintf("Byte 0x%02X is not valid UTF-8. Files must be UTF-8 encoded: "+
			"save this one as UTF-8.", src[0]),
		Subject: &hcl.Range{Filename: name, Start: pos, End: end},
	}
}

// checkNesting reports the first token at which the nesting passes maxNesting. Whatever
// hclsyntax parses recursively counts: an opener until its closer; a '?' until its
// conditional ends (at a comma, at the end of its line in a body or object, or at the
// closer around it); a template "if" or "for" until its "endif" or "endfor"; and a run of
// unary '-' and '!' while it lasts.
func checkNesting(tokens hclsyntax.Tokens) hcl.Diagnostics {
	var open []hclsyntax.TokenType
	unary := 0
	for i, tok := range tokens {
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc, hclsyntax.TokenTemplateInterp,
			hclsyntax.TokenQuestion:
			open = append(open, tok.Type)
		case hclsyntax.TokenTemplateControl:
			open = templateDirective(open, tokens[i+1:])
			open = append(open, tok.Type)
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
			hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			open = endConditionals(open)
			open = open[:max(len(open)-1, 0)]
		case hclsyntax.TokenComma:
			open = endConditionals(open)
		case hclsyntax.TokenNewline:
			open = endLine(open)
		}
		if tok.Type == hclsyntax.TokenMinus || tok.Type == hclsyntax.TokenBang {
			unary++
		} else {
			unary = 0
		}
		if len(open)+unary > maxNesting {
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Nesting too deep",
				Detail: fmt.Sprintf("Brackets, strings, templates and conditionals nest more than "+
					"%d deep here. Flatten the value, or keep data this deep out of HCL.", maxNesting),
				Subject: tok.Range.Ptr(),
			}}
		}
	}
	return nil
}

// templateDirective opens a nesting level for a template "if" or "for" and closes one for
// "endif" or "endfor"; next are the tokens after the directive's "%{".
func templateDirective(open []hclsyntax.TokenType, next hclsyntax.Tokens) []hclsyntax.TokenType {
	if len(next) == 0 || next[0].Type != hclsyntax.TokenIdent {
		return open
	}
	switch string(next[0].Bytes) {
	case "if", "for":
		return append(open, hclsyntax.TokenTemplateControl)
	case "endif", "endfor":
		if n := len(open); n > 0 && open[n-1] == hclsyntax.TokenTemplateControl {
			return open[:n-1]
		}
	}
	return open
}

// endLine closes the conditionals a new line ends: those of an attribute or object item,
// but not those inside brackets, parentheses or an interpolation, where new lines are
// ignored.
func endLine(open []hclsyntax.TokenType) []hclsyntax.TokenType {
	inner := endConditionals(open)
	if len(inner) == 0 || inner[len(inner)-1] == hclsyntax.TokenOBrace {
		return inner
	}
	return open
}

// endConditionals closes the conditionals open at the innermost level.
func endConditionals(open []hclsyntax.TokenType) []hclsyntax.TokenType {
	for len(open) > 0 && open[len(open)-1] == hclsyntax.TokenQuestion {
		open = open[:len(open)-1]
	}
	return open
}
