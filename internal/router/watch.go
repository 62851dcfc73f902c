package router

import (
	"errors"
	"os"
	"sync/atomic"
	"time"

	"github.com/greenlight-ci/greenlight/internal/router/h1"
)

// watchDelay is how often a listener looks for exchanges to watch: one
// running for a tick gets its client watched from the next (after 1 to 2
// delays). Nearly every exchange ends sooner and costs two atomic stores: no
// timer is set per request.
const watchDelay = 100 * time.Millisecond

// watcher notices a client that goes away while its request is at the target
// (net/http's server does it with a background read): when an exchange has
// run for watchDelay, it reads from the client on another goroutine. End of
// stream or an error means the client is gone, and the exchange with the
// target is aborted; a byte means the next request is coming, and is handed
// back to the request reader.
//
// state holds the exchange's number (shifted left by 3) and its watch state:
// the connection's goroutine arms and stops it, the listener's watch loop
// claims an exchange armed at two ticks in a row (the same number) and starts
// run. The number makes that claim fail when the exchange it saw armed has
// ended and another began.
type watcher struct {
	c     *frontConn
	state atomic.Uint64
	seq   uint64 // the number of the exchange armed last; the goroutine's own
	seen  uint64 // the state the watch loop saw at its last tick; the loop's own
	done  chan struct{}
	armed bool

	// Written by run, read after done.
	buf  [1]byte
	got  int  // bytes read and owed to the request reader
	gone bool // the client closed or reset the connection
}

// The watch states, in state's low bits.
const (
	watchIdle      = iota // no exchange, or one that ended
	watchArmed            // an exchange runs; no watch yet
	watchClaimed          // the watch loop started run
	watchReading          // run cleared the read deadline and reads
	watchCancelled        // stop came before run read: run does not
	watchStateBits = 3
	watchStateMask = 1<<watchStateBits - 1
)

// watchWord is the state word of exchange seq in state.
func watchWord(seq, state uint64) uint64 { return seq<<watchStateBits | state }

func (w *watcher) word(state uint64) uint64 { return watchWord(w.seq, state) }

// arm marks an exchange as started; it does nothing when the client is not
// watchable: its next request's bytes have already come.
func (w *watcher) arm() {
	if w.got > 0 || len(w.c.r.Buffered()) > 0 {
		return
	}
	if w.done == nil {
		w.done = make(chan struct{}, 1)
	}
	w.seq++
	w.state.Store(w.word(watchArmed))
	w.armed = true
	w.c.front.startWatching()
}

// stop ends the watch; when it returns, run is over.
func (w *watcher) stop() {
	if !w.armed {
		return
	}
	w.armed = false
	if w.state.CompareAndSwap(w.word(watchArmed), w.word(watchIdle)) {
		return // never claimed: no run
	}
	if !w.state.CompareAndSwap(w.word(watchClaimed), w.word(watchCancelled)) {
		// run cleared the deadline before it said it reads: this one comes after.
		_ = w.c.conn.SetReadDeadline(aLongTimeAgo) // unblock the read in run
	}
	<-w.done
	w.state.Store(w.word(watchIdle))
	w.c.idleUntil.forget() // run cleared the deadline, and stop may have set one
}

// tick is the watch loop's look at the connection; it reports whether an
// exchange is armed.
func (w *watcher) tick() bool {
	s := w.state.Load()
	seen := w.seen
	w.seen = s
	if s&watchStateMask != watchArmed {
		return false
	}
	if seq := s >> watchStateBits; s == seen && w.state.CompareAndSwap(s, watchWord(seq, watchClaimed)) {
		go w.run(seq)
	}
	return true
}

func (w *watcher) run(seq uint64) {
	conn := w.c.conn
	// Cleared before announcing the read, so that stop's deadline comes after.
	_ = conn.SetReadDeadline(time.Time{})
	if w.state.CompareAndSwap(watchWord(seq, watchClaimed), watchWord(seq, watchReading)) {
		n, err := conn.Read(w.buf[:])
		w.got = n
		if n == 0 && !errors.Is(err, os.ErrDeadlineExceeded) {
			w.gone = true
			w.c.cc.abortUpstream()
		}
	}
	w.done <- struct{}{}
}

// giveBack hands the byte the watch read to the request reader.
func (w *watcher) giveBack(r *h1.Reader) {
	if w.got > 0 {
		r.Append(w.buf[:w.got])
		w.got = 0
	}
}

func (w *watcher) close() { w.stop() }
