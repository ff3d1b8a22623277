// Package fetch owns getting artifacts onto the deploy host: downloading a file whose sha256
// or sha512 is pinned, and unpacking an archive into a directory. Which artifacts, versions
// and URLs make up a cluster is the roles' business; copying from the stage to the nodes
// belongs to the modules.
//
// Both operations are idempotent and have a check mode that decides without touching the
// network or the disk. A failure never leaves a half-written result: the previous file or
// directory stays as it was, and temporary files are removed.
package fetch

// Decision says whether a call changed (or, in check mode, would change) anything, and why,
// in words meant for the user.
type Decision struct {
	Changed bool
	Reason  string
}
