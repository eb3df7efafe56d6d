package message

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxWarning is the longest admission warning, in characters: warnings
// stay under the 120 characters kubectl shows well.
const MaxWarning = 119

// Warning cuts an admission warning to MaxWarning characters, ending the
// cut with "...", ASCII like the rest of a warning.
func Warning(s string) string {
	return Truncate(s, MaxWarning, "...")
}

// Truncate returns s when it has at most n characters, else its first
// characters, without the space before the cut, and mark, n characters
// at most in all, so the reader sees the cut. It counts characters
// (runes), not bytes, so it never splits one.
func Truncate(s string, n int, mark string) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	keep := max(n-utf8.RuneCountInString(mark), 0)
	return strings.TrimRightFunc(string([]rune(s)[:keep]), unicode.IsSpace) + mark
}
