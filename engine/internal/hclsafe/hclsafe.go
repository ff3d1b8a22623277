// Package hclsafe checks HCL sources before hclsyntax parses them, for what the parser
// cannot survive or reports confusingly: bytes that are not UTF-8 and nesting deep enough
// to overflow its recursive descent. Configuration files and templates both go through it.
package hclsafe

import (
	"fmt"
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

// CheckConfig checks a configuration file's source.
func CheckConfig(src []byte, name string) hcl.Diagnostics {
	return checkSource(src, name, hclsyntax.LexConfig)
}

// CheckTemplate checks a template's source.
func CheckTemplate(src []byte, name string) hcl.Diagnostics {
	return checkSource(src, name, hclsyntax.LexTemplate)
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
