package bench

import (
	"strings"
	"testing"
)

func TestWriteMarkdown(t *testing.T) {
	var r Report
	r.Add(Row{Figure: "Job handler", Result: "61 µs/op", Target: "≤ 100 µs", Met: met(true)})
	r.Add(Row{Figure: "a|b", Result: fmtMs(Spread{1.234, 1, 2}), Baseline: "x", Ratio: "1.10×", Met: met(false)})
	r.Note("measured %d times", 3)
	var b strings.Builder
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	want := `| Figure | Result | Baseline | Ratio | Target | Met |
|---|---|---|---|---|---|
| Job handler | 61 µs/op | – | – | ≤ 100 µs | yes |
| a\|b | 1.23 ms (1.00–2.00) | x | 1.10× | – | no |

- measured 3 times
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
