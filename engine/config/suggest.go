package config

import "github.com/agext/levenshtein"

// NameSuggestion returns the candidate nearest to given, or "" when none is near enough to be
// a likely typo.
func NameSuggestion(given string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := levenshtein.Distance(given, c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}
