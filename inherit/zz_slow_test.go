package inherit

import (
	"testing"
	"time"
)

func TestZZSlow(t *testing.T) {
	for _, d := range []string{
		`{"spec":{"containers":[{"name":"a","resources":{"limits":{"cpu":"1e100000"}}}]}}`,
		`{"spec":{"containers":[{"name":"a","resources":{"limits":{"memory":"1e100000"}}}]}}`,
		`{"spec":{"containers":[{"name":"a","resources":{"limits":{"cpu":"1e-100000"}}}]}}`,
	} {
		start := time.Now()
		checkInjection(t, jobApp(), []byte(d))
		t.Logf("%v", time.Since(start))
	}
}
