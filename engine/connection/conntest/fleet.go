package conntest

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/kplay-dev/kplay/engine/connection"
)

// Fleet is a set of fake hosts that share one call counter, so calls are ordered and
// concurrency is measured across all of them, as a runner's fork limit needs. Safe for
// concurrent use.
type Fleet struct {
	mu       sync.Mutex
	hosts    map[string]*Host
	dialErr  map[string]error
	dials    map[string]int
	gauge    *gauge
	defaults Handler
}

// NewFleet returns a fleet with one host per name, every one answering commands with
// handler (nil for the default, which fails every command).
func NewFleet(handler Handler, names ...string) *Fleet {
	f := &Fleet{hosts: map[string]*Host{}, dialErr: map[string]error{}, dials: map[string]int{},
		gauge: &gauge{}, defaults: handler}
	for _, n := range names {
		f.Add(n)
	}
	return f
}

// Add makes a host in the fleet, or returns the one of that name.
func (f *Fleet) Add(name string) *Host {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h := f.hosts[name]; h != nil {
		return h
	}
	h := New(name)
	h.gauge = f.gauge
	h.handler = f.defaults
	f.hosts[name] = h
	return h
}

// Host returns the named host, or nil.
func (f *Fleet) Host(name string) *Host {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hosts[name]
}

// RefuseDial makes Dial of the named host fail with a *connection.UnreachableError
// wrapping err, like a host that is down before the run starts; nil err lets it connect.
func (f *Fleet) RefuseDial(name string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dialErr[name] = err
}

// Dial opens a new connection to the named host. Connections share the host's files,
// handler and record; closing one leaves the host ready for the next Dial. It fits runner.Dialer through a one-line adapter:
//
//	Dial: func(ctx context.Context, h *inventory.Host) (connection.Conn, error) {
//		return fleet.Dial(ctx, h.Name)
//	}
func (f *Fleet) Dial(ctx context.Context, name string) (connection.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dials[name]++
	if err := f.dialErr[name]; err != nil {
		return nil, &connection.UnreachableError{Host: name, Err: err}
	}
	h := f.hosts[name]
	if h == nil {
		return nil, &connection.UnreachableError{Host: name, Err: fmt.Errorf("conntest: no host %q in the fleet", name)}
	}
	if err := ctx.Err(); err != nil {
		return nil, &connection.UnreachableError{Host: name, Err: err}
	}
	return h.open(), nil
}

// Dials reports how many times the named host was dialed.
func (f *Fleet) Dials(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dials[name]
}

// Calls returns the calls of every host, in the order they returned.
func (f *Fleet) Calls() []Call {
	f.mu.Lock()
	var all []Call
	for _, h := range f.hosts {
		all = append(all, h.Calls()...)
	}
	f.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].Seq < all[j].Seq })
	return all
}

// InFlight is how many calls are running right now on all hosts together. A Handler may
// use it to hold calls until a given number are in flight.
func (f *Fleet) InFlight() int { return f.gauge.current() }

// MaxInFlight is the largest number of calls that ran at the same time on all hosts.
func (f *Fleet) MaxInFlight() int { return f.gauge.maxSeen() }
