// Package roles embeds the roles kplay ships, plain HCL files a user can read, export with
// `kplay roles export NAME` and override with a roles/NAME directory beside the playbook,
// plus artifacts.hcl, which pins every upstream file the cluster is built from.
package roles

import "embed"

// FS holds one directory per role and artifacts.hcl at its root.
//
//go:embed *
var FS embed.FS
