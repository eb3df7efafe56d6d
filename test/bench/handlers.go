package bench

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// HandlerResult is one handler benchmark's runs.
type HandlerResult struct {
	Name      string
	NsPerOp   []float64
	AllocsOp  []float64
	BytesOp   []float64
	Processes int
}

// benchLine matches `go test -bench -benchmem` result lines, for example
// "BenchmarkJobHandler-2   16318   73712 ns/op   18044 B/op   81 allocs/op".
var benchLine = regexp.MustCompile(`^Benchmark(\w+?)(?:-(\d+))?\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) B/op\s+([\d.]+) allocs/op`)

// ParseBenchmarks collects the runs of each benchmark in go test output, in
// the order they first appear.
func ParseBenchmarks(out string) []HandlerResult {
	var results []HandlerResult
	index := map[string]int{}
	s := bufio.NewScanner(strings.NewReader(out))
	for s.Scan() {
		m := benchLine.FindStringSubmatch(s.Text())
		if m == nil {
			continue
		}
		i, ok := index[m[1]]
		if !ok {
			procs, _ := strconv.Atoi(m[2])
			i = len(results)
			index[m[1]] = i
			results = append(results, HandlerResult{Name: m[1], Processes: procs})
		}
		ns, _ := strconv.ParseFloat(m[3], 64)
		bytes, _ := strconv.ParseFloat(m[4], 64)
		allocs, _ := strconv.ParseFloat(m[5], 64)
		r := &results[i]
		r.NsPerOp, r.BytesOp, r.AllocsOp = append(r.NsPerOp, ns), append(r.BytesOp, bytes), append(r.AllocsOp, allocs)
	}
	return results
}

// Handlers runs the webhook package's benchmarks, the handlers' own cost
// per AdmissionReview with no apiserver round trip, count times each.
func (e *Env) Handlers(ctx context.Context, count int) ([]HandlerResult, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "./webhook", "-run", "^$", "-bench", ".", "-benchmem", "-count", strconv.Itoa(count))
	cmd.Dir = e.RepoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("running the handler benchmarks: %w: %s", err, out)
	}
	results := ParseBenchmarks(string(out))
	if len(results) == 0 {
		return nil, fmt.Errorf("no benchmark results in:\n%s", out)
	}
	return results, nil
}
