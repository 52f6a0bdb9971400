package config

import (
	"fmt"
	"slices"
	"strings"
)

// unknownReason explains an unknown key, suggesting the closest known key
// when one is close enough to be a typo.
func unknownReason(key string, known []string) string {
	if s, ok := closest(key, known); ok {
		return fmt.Sprintf("unknown key; did you mean %q?", s)
	}
	if len(known) > 0 && len(known) <= 8 {
		return "unknown key; want one of " + strings.Join(slices.Sorted(slices.Values(known)), ", ")
	}
	return "unknown key"
}

// closest returns the candidate nearest to s by edit distance, if it is
// within what a typo explains: one edit for short words, two for longer.
func closest(s string, candidates []string) (string, bool) {
	limit := 1
	if len(s) >= 5 {
		limit = 2
	}
	best, bestD := "", limit+1
	for _, c := range slices.Sorted(slices.Values(candidates)) {
		if d := distance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best, best != ""
}

// distance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each cost one, so
// "prot" is one edit from "port".
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range rb {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
