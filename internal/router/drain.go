package router

import (
	"context"
	"sync"
	"time"
)

// drain deregisters t: no new requests; in-flight ones and long-lived connections
// go on until deadline, then are cut.
func (s *service) drain(t *target, deadline time.Time) {
	t.removed.Store(true)
	t.drainGen++
	t.drainDeadline = deadline
	t.undrain = make(chan struct{})
	t.log.Info("target draining", "deadline", deadline)
	s.drains.Add(1)
	go s.watchDrain(t, t.drainGen, deadline, t.undrain)
}

// watchDrain forgets t once nothing is in flight on it, or cuts its connections
// when the deadline comes first; it gives up when t is re-registered (undrain).
func (s *service) watchDrain(t *target, gen uint64, deadline time.Time, undrain <-chan struct{}) {
	defer s.drains.Done()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for t.inflight.Load() > 0 {
		select {
		case <-t.idle:
			continue
		case <-undrain:
			return
		case <-timer.C:
		case <-s.ctx.Done():
		}
		if n := s.cutConns(t); n > 0 {
			t.log.Info("deregistration delay over: connections cut", "connections", n)
		}
		break
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.drainGen != gen || !t.removed.Load() {
		return // re-registered meanwhile
	}
	s.forget(t)
}

// forget removes a drained target for good.
func (s *service) forget(t *target) {
	delete(s.targets, t.key())
	t.stopHealth()
	t.closeIdle()
	t.log.Info("target drained")
}

// shutdown stops the listeners, drains every target (in-flight requests finish,
// long-lived connections last until the deregistration delay or ctx ends), then
// closes what is left.
func (s *service) shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stopping = true
	deadline := time.Now().Add(s.spec.DeregistrationDelay.D())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	for _, t := range s.targets {
		if !t.removed.Load() {
			s.drain(t, deadline)
		}
	}
	s.publish()
	listeners := []*listener{s.prod, s.test}
	redirects := []*redirectServer{s.prodRedirect, s.testRedirect}
	s.mu.Unlock()
	for _, rs := range redirects {
		if rs != nil {
			go rs.retire(time.Second)
		}
	}

	var wg sync.WaitGroup
	for _, l := range listeners {
		if l != nil {
			wg.Go(func() { l.shutdown(ctx) })
		}
	}
	drained := make(chan struct{})
	go func() { s.drains.Wait(); close(drained) }()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.cancel() // cuts whatever drain is left and stops health checks
	<-drained
	waitListeners(ctx, &wg)
	for _, l := range listeners {
		if l != nil {
			l.close()
		}
	}
	wg.Wait()
	s.closeAllConns()
	s.mu.Lock()
	for _, t := range s.targets {
		t.closeIdle()
	}
	s.mu.Unlock()
	return err
}

// listenerGrace bounds the wait for the listeners' graceful shutdown once
// nothing is in flight: the last responses net/http serves (HTTP/2 streams
// above all) are written after the request stops counting against its
// target, and HTTP/2 connections end after their GOAWAY.
const listenerGrace = 5 * time.Second

func waitListeners(ctx context.Context, wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	timer := time.NewTimer(listenerGrace)
	defer timer.Stop()
	select {
	case <-done:
	case <-ctx.Done():
	case <-timer.C:
	}
}

// Release ends the router once a successor accepts on the same listening
// sockets (an agent restart): it stops accepting, and lets every connection
// finish its current request on the routes as they are, for up to its
// service's deregistration delay (keep-alive connections close after their
// request, idle ones at once); then it closes as Close does, cutting what is
// left when ctx ends. Close alone would take the targets out of rotation
// first, and answer 503 to the requests still arriving on open connections.
func (r *Router) Release(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, svc := range r.serviceList() {
		wg.Go(func() { svc.stopListening(ctx) })
	}
	wg.Wait()
	return r.Close(ctx)
}

// stopListening stops accepting on the service's listeners and waits, up to
// its deregistration delay, for their connections to end.
func (s *service) stopListening(ctx context.Context) {
	s.mu.Lock()
	listeners := []*listener{s.prod, s.test}
	redirects := []*redirectServer{s.prodRedirect, s.testRedirect}
	delay := s.spec.DeregistrationDelay.D()
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, delay)
	defer cancel()
	var wg sync.WaitGroup
	for _, l := range listeners {
		if l != nil {
			wg.Go(func() { l.shutdown(ctx) })
		}
	}
	for _, rs := range redirects {
		if rs != nil {
			wg.Go(func() { _ = rs.srv.Shutdown(ctx) })
		}
	}
	wg.Wait()
}
