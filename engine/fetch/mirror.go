package fetch

import "strings"

// RewriteURL replaces the longest prefix of url found in mirrors with its value, so an
// air-gapped site can point "https://dl.k8s.io/" at its own server and one release at another.
// Prefixes are plain strings: end them with "/" so that "https://dl.k8s.io" does not also
// match "https://dl.k8s.io.example.com". Empty prefixes are ignored.
func RewriteURL(url string, mirrors map[string]string) string {
	best := ""
	for prefix := range mirrors {
		if prefix != "" && len(prefix) > len(best) && strings.HasPrefix(url, prefix) {
			best = prefix
		}
	}
	if best == "" {
		return url
	}
	return mirrors[best] + url[len(best):]
}
