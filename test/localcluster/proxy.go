package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// Proxy forwards TCP connections to a set of backends in turn, as a
// Service does to its ready pods: a backend that refuses the connection is
// skipped, so one replica's death leaves the address served.
type Proxy struct {
	listener net.Listener
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	backends []string
	next     atomic.Uint32
	wg       sync.WaitGroup
}

// StartProxy listens on addr and forwards each connection to one of
// backends. Close it when done.
func StartProxy(addr string, backends ...string) (*Proxy, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return serveProxy(l, (&net.Dialer{}).DialContext, backends...), nil
}

// serveProxy forwards each connection l accepts to one of backends,
// connecting with dial.
func serveProxy(l net.Listener, dial func(ctx context.Context, network, addr string) (net.Conn, error), backends ...string) *Proxy {
	p := &Proxy{listener: l, dial: dial, backends: backends}
	p.wg.Add(1)
	go p.serve()
	return p
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		conn, err := p.listener.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		go p.forward(conn)
	}
}

func (p *Proxy) forward(in net.Conn) {
	defer in.Close()
	start := int(p.next.Add(1))
	for i := range p.backends {
		out, err := p.dial(context.Background(), "tcp", p.backends[(start+i)%len(p.backends)])
		if err != nil {
			continue
		}
		defer out.Close()
		done := make(chan struct{}, 2)
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			// Half-close so the other direction can finish.
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			done <- struct{}{}
		}
		go pipe(out, in)
		go pipe(in, out)
		<-done
		<-done
		return
	}
}

// Close stops listening; connections in flight finish on their own.
func (p *Proxy) Close() error {
	err := p.listener.Close()
	p.wg.Wait()
	return err
}
