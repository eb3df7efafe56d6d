package policy

import (
	"path"
	"regexp"
	"testing"
	"unicode/utf8"
)

// TestGlobRegexp checks the translation against path.Match itself, on every
// glob with every name, so the admission policies' CEL matches exactly the
// namespaces the manager does.
func TestGlobRegexp(t *testing.T) {
	globs := []string{
		"team-a", "team-*", "*-prod", "*", "?", "t?am-*", "team-[ab]", "team-[^ab]", "team-[a-c]*",
		"[^a-c]*", `team-\*`, `a\-b`, "a.b", "a+b", "", "ns-[0-9][0-9]", "*-*-*", "(x)|y",
		`[\]]`, `[\-]x`, `x[^\-]`, "[x-0]", "[^x-0]", "[x-0a]",
	}
	names := []string{
		"team-a", "team-b", "team-c", "team-d", "team-", "team-*", "a-prod", "prod", "x", "", "xy",
		"tearn-1", "a.b", "axb", "a+b", "aab", "a-b", "a", "-", "ns-42", "ns-4x", "a-b-c", "a--",
		"(x)|y", "y", "]", "-x", "xa", "x-", "kube-system", "ab/cd",
	}
	for _, g := range globs {
		re, err := GlobRegexp(g)
		if err != nil {
			t.Errorf("GlobRegexp(%q): %v", g, err)
			continue
		}
		rx, err := regexp.Compile(re)
		if err != nil {
			t.Errorf("GlobRegexp(%q) = %q, which does not compile: %v", g, re, err)
			continue
		}
		for _, n := range names {
			want, _ := path.Match(g, n)
			if got := rx.MatchString(n); got != want {
				t.Errorf("glob %q on %q: path.Match says %v, %q says %v", g, n, want, re, got)
			}
		}
	}
}

func TestGlobRegexpRefusesMalformedGlobs(t *testing.T) {
	for _, g := range []string{"[", "team-[", "[]", "[a-", `x\`, "[^]", "[z-]", "[a-]", "x[^-]"} {
		if re, err := GlobRegexp(g); err == nil {
			t.Errorf("GlobRegexp(%q) = %q, want an error", g, re)
		}
	}
}

func FuzzGlobRegexp(f *testing.F) {
	for _, s := range []string{"team-*", "[^a-c]?", `a\*b`, "x[a-]y"} {
		f.Add(s, "team-a")
	}
	f.Fuzz(func(t *testing.T, glob, name string) {
		re, err := GlobRegexp(glob)
		if err != nil {
			return
		}
		want, err := path.Match(glob, name)
		// Namespace names are ASCII; on invalid UTF-8 the two disagree
		// on what one character is.
		if err != nil || !utf8.ValidString(name) || !utf8.ValidString(glob) {
			return
		}
		if got := regexp.MustCompile(re).MatchString(name); got != want {
			t.Fatalf("glob %q on %q: path.Match says %v, %q says %v", glob, name, want, re, got)
		}
	})
}
