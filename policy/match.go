package policy

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// matchNamespace reports whether ns matches any of the globs. No globs
// match every namespace.
func matchNamespace(globs []string, ns string) bool {
	if len(globs) == 0 {
		return true
	}
	return matchAnyGlob(globs, ns)
}

func matchAnyGlob(globs []string, ns string) bool {
	return slices.ContainsFunc(globs, func(g string) bool {
		// Validate rejects malformed globs; one that slips through matches
		// nothing rather than everything.
		ok, err := path.Match(g, ns)
		return err == nil && ok
	})
}

// matchSelector reports whether the labels match sel. No selector matches
// everything; a malformed one, which Validate rejects, matches nothing.
func matchSelector(sel *metav1.LabelSelector, l map[string]string) bool {
	if sel == nil {
		return true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(l))
}

// GlobRegexp translates a path.Match glob, as policy's namespaces are
// written, into an anchored RE2 expression that matches the same names, for
// matchers that run where Go does not (CEL's matches()). It fails on a
// glob path.Match calls malformed.
func GlobRegexp(glob string) (string, error) {
	if _, err := path.Match(glob, ""); err != nil {
		return "", fmt.Errorf("glob %q: %w", glob, err)
	}
	var b strings.Builder
	b.WriteString("^(?:")
	rs := []rune(glob)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '*':
			b.WriteString("[^/]*")
		case '?':
			b.WriteString("[^/]")
		case '\\':
			i++
			if i == len(rs) {
				return "", fmt.Errorf("glob %q: %w", glob, path.ErrBadPattern)
			}
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		case '[':
			n, err := classRegexp(&b, rs[i+1:])
			if err != nil {
				return "", fmt.Errorf("glob %q: %w", glob, err)
			}
			i += n
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(")$")
	return b.String(), nil
}

// classRegexp writes the character class that rs, the runes after a '[',
// starts with, and returns how many runes it took, the closing ']'
// included. Every rune is written as \x{…}, so no rune means anything to
// RE2 that it did not mean to path.Match. A range whose ends are the wrong
// way round matches nothing, as in path.Match.
func classRegexp(b *strings.Builder, rs []rune) (int, error) {
	i, negated := 0, false
	if i < len(rs) && rs[i] == '^' {
		negated = true
		i++
	}
	char := func() (rune, error) {
		if i < len(rs) && rs[i] == '\\' {
			i++
		} else if i < len(rs) && (rs[i] == '-' || rs[i] == ']') {
			return 0, path.ErrBadPattern
		}
		if i == len(rs) {
			return 0, path.ErrBadPattern
		}
		i++
		return rs[i-1], nil
	}
	var ranges strings.Builder
	for n := 0; ; n++ {
		if i < len(rs) && rs[i] == ']' && n > 0 {
			break
		}
		lo, err := char()
		if err != nil {
			return 0, err
		}
		hi := lo
		if i < len(rs) && rs[i] == '-' {
			i++
			if hi, err = char(); err != nil {
				return 0, err
			}
		}
		if lo <= hi {
			fmt.Fprintf(&ranges, `\x{%x}-\x{%x}`, lo, hi)
		}
	}
	switch {
	case ranges.Len() == 0 && negated:
		b.WriteString(`[\x{0}-\x{10ffff}]`)
	case ranges.Len() == 0:
		b.WriteString(`[^\x{0}-\x{10ffff}]`)
	case negated:
		b.WriteString("[^" + ranges.String() + "]")
	default:
		b.WriteString("[" + ranges.String() + "]")
	}
	return i + 1, nil
}
