package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Row is one figure of the report: what was measured, the result with its
// spread, the baseline it is judged against, and the target.
type Row struct {
	Figure   string
	Result   string
	Baseline string
	Ratio    string
	Target   string
	// Met is "yes", "no", or empty where the figure has no target.
	Met string
}

// Report is the results table, in the order the figures were measured.
type Report struct {
	Rows []Row
	// Notes follow the table: how each figure was measured.
	Notes []string
}

// Add appends a row.
func (r *Report) Add(row Row) { r.Rows = append(r.Rows, row) }

// Note appends a line under the table.
func (r *Report) Note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// WriteMarkdown renders the report as a markdown table followed by its
// notes.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| Figure | Result | Baseline | Ratio | Target | Met |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, row := range r.Rows {
		cells := []string{row.Figure, row.Result, row.Baseline, row.Ratio, row.Target, row.Met}
		for i, c := range cells {
			if c == "" {
				c = "–"
			}
			cells[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range r.Notes {
			b.WriteString("- " + n + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// met says whether a measured value is within its bound.
func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// fmtMs renders a spread of milliseconds as "median (min–max)".
func fmtMs(s Spread) string {
	return fmt.Sprintf("%.2f ms (%.2f–%.2f)", s.Median, s.Min, s.Max)
}

// fmtSeconds renders a spread of seconds as "median (min–max)".
func fmtSeconds(s Spread) string {
	return fmt.Sprintf("%.1f s (%.1f–%.1f)", s.Median, s.Min, s.Max)
}

// within compares a figure with its bound as the report prints it, to two
// decimals, so a ratio shown as 1.20× meets a bound of 1.2×.
func within(value, bound float64) bool { return math.Round(value*100)/100 <= bound }
