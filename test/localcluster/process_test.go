package localcluster

import (
	"net"
	"strconv"
	"testing"
)

// The ports freePort hands out are bindable, distinct, and never from the
// kernel's ephemeral range, where an outgoing connection could take one
// before the process it is for binds it.
func TestFreePortAvoidsEphemeralPorts(t *testing.T) {
	high := ephemeralPortsFrom()
	seen := map[string]bool{}
	for range 50 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(port)
		if err != nil {
			t.Fatalf("freePort returned %q: %v", port, err)
		}
		if n < lowestPort || n >= high {
			t.Errorf("port %d is outside [%d, %d)", n, lowestPort, high)
		}
		if seen[port] {
			t.Errorf("port %d handed out twice", n)
		}
		seen[port] = true
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
		if err != nil {
			t.Errorf("port %d is not free: %v", n, err)
			continue
		}
		_ = l.Close()
	}
}
