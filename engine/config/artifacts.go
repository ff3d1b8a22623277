package config

import (
	"io/fs"

	"github.com/hashicorp/hcl/v2"
)

// Artifact pins one upstream file of the cluster: its version, where it is downloaded from
// and its upstream checksum. The URL is a template that sees only `version`, so overriding an
// artifact's version in the inventory yields the matching URL.
type Artifact struct {
	Name    string
	Version string
	URL     hcl.Expression
	SHA256  string
	SHA512  string
	// StripComponents is how many leading path parts unpacking drops; -1 means the artifact
	// is a single file that is not unpacked.
	StripComponents int
	Source          string
	DeclRange       hcl.Range
}

// Image pins a container image the cluster needs.
type Image struct {
	Name      string
	Ref       string
	Version   string
	DeclRange hcl.Range
}

// Pins is the content of an artifacts file.
type Pins struct {
	Artifacts []*Artifact
	Images    []*Image
}

var pinsSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "artifact", LabelNames: []string{"name"}},
		{Type: "image", LabelNames: []string{"name"}},
	},
}

var artifactSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "version", Required: true}, {Name: "url", Required: true}, {Name: "sha256"},
		{Name: "sha512"}, {Name: "unpack"}, {Name: "source"},
	},
}

var imageSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "ref", Required: true}, {Name: "version"}, {Name: "source"}},
}

// LoadPins reads an artifacts file from fsys; name is what diagnostics show.
func (p *Parser) LoadPins(fsys fs.FS, path, name string) (*Pins, hcl.Diagnostics) {
	pins := &Pins{}
	file, diags := p.ParseFS(fsys, path, name)
	if file == nil || diags.HasErrors() {
		return pins, diags
	}
	content, d := file.Body.Content(pinsSchema)
	diags = append(diags, d...)
	for _, b := range content.Blocks {
		switch b.Type {
		case "artifact":
			a, d := decodeArtifact(b)
			diags = append(diags, d...)
			pins.Artifacts = append(pins.Artifacts, a)
		case "image":
			c, d := b.Body.Content(imageSchema)
			diags = append(diags, d...)
			img := &Image{Name: b.Labels[0], DeclRange: b.DefRange}
			diags = append(diags, literal(c.Attributes["ref"], &img.Ref)...)
			diags = append(diags, literal(c.Attributes["version"], &img.Version)...)
			pins.Images = append(pins.Images, img)
		}
	}
	return pins, diags
}

func decodeArtifact(b *hcl.Block) (*Artifact, hcl.Diagnostics) {
	a := &Artifact{Name: b.Labels[0], DeclRange: b.DefRange, StripComponents: -1}
	c, diags := b.Body.Content(artifactSchema)
	at := c.Attributes
	diags = append(diags, literal(at["version"], &a.Version)...)
	diags = append(diags, literal(at["sha256"], &a.SHA256)...)
	diags = append(diags, literal(at["sha512"], &a.SHA512)...)
	diags = append(diags, literal(at["source"], &a.Source)...)
	if u := at["url"]; u != nil {
		a.URL = u.Expr
	}
	if u := at["unpack"]; u != nil {
		var unpack struct {
			StripComponents int `cty:"strip_components"`
		}
		diags = append(diags, literal(u, &unpack)...)
		a.StripComponents = unpack.StripComponents
	}
	return a, diags
}
