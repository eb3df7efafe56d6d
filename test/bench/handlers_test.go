package bench

import (
	"reflect"
	"testing"
)

func TestParseBenchmarks(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/taskgate/taskgate/webhook
BenchmarkJobHandler-2    	   16318	     73712 ns/op	   18044 B/op	      81 allocs/op
BenchmarkTaskHandler-2   	    9123	    127500 ns/op	   60001 B/op	     448 allocs/op
BenchmarkJobHandler-2    	   16000	     70000.5 ns/op	   18044 B/op	      81 allocs/op
BenchmarkNoMem    	   10	     5 ns/op
PASS
`
	want := []HandlerResult{
		{Name: "JobHandler", Processes: 2, NsPerOp: []float64{73712, 70000.5}, BytesOp: []float64{18044, 18044}, AllocsOp: []float64{81, 81}},
		{Name: "TaskHandler", Processes: 2, NsPerOp: []float64{127500}, BytesOp: []float64{60001}, AllocsOp: []float64{448}},
	}
	if got := ParseBenchmarks(out); !reflect.DeepEqual(got, want) {
		t.Errorf("ParseBenchmarks =\n%+v\nwant\n%+v", got, want)
	}
}
