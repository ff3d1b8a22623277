package output

import (
	"io"

	"github.com/hashicorp/hcl/v2"
)

// Diagnostics renders HCL diagnostics with their source snippets, the way terraform does.
func Diagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, color bool) error {
	width := uint(100)
	return hcl.NewDiagnosticTextWriter(w, files, width, color).WriteDiagnostics(diags)
}
