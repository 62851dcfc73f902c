package router

import (
	"errors"
	"os"
	"sync/atomic"
	"time"

	"github.com/greenlight-ci/greenlight/internal/router/h1"
)

// watchDelay is how long an exchange may run before the connection's goroutine
// has the client watched for a disconnect. Nearly every exchange ends sooner
// and costs no more than arming and stopping a timer.
const watchDelay = 100 * time.Millisecond

// watcher notices a client that goes away while its request is at the target
// (net/http's server does it with a background read): after watchDelay it reads
// from the client on another goroutine. End of stream or an error means the
// client is gone, and the exchange with the target is aborted; a byte means the
// next request is coming, and is handed back to the request reader.
type watcher struct {
	c     *frontConn
	timer *time.Timer
	state atomic.Int32
	done  chan struct{}
	armed bool

	// Written by run, read after done.
	buf  [1]byte
	got  int  // bytes read and owed to the request reader
	gone bool // the client closed or reset the connection
}

const (
	watchArmed int32 = iota
	watchReading
	watchCancelled
)

// arm starts the delay; it does nothing when the client is not watchable: its
// next request's bytes have already come.
func (w *watcher) arm() {
	if w.got > 0 || len(w.c.r.Buffered()) > 0 {
		return
	}
	w.state.Store(watchArmed)
	if w.timer == nil {
		w.done = make(chan struct{}, 1)
		w.timer = time.AfterFunc(watchDelay, w.run)
	} else {
		w.timer.Reset(watchDelay)
	}
	w.armed = true
}

// stop ends the watch; when it returns, run is over.
func (w *watcher) stop() {
	if !w.armed {
		return
	}
	w.armed = false
	if w.timer.Stop() {
		return
	}
	if !w.state.CompareAndSwap(watchArmed, watchCancelled) {
		_ = w.c.conn.SetReadDeadline(aLongTimeAgo) // unblock the read in run
	}
	<-w.done
	w.c.idleUntil.forget() // run cleared the deadline, and stop may have set one
}

func (w *watcher) run() {
	conn := w.c.conn
	// Cleared before announcing the read, so that stop's deadline comes after.
	_ = conn.SetReadDeadline(time.Time{})
	if w.state.CompareAndSwap(watchArmed, watchReading) {
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

func (w *watcher) close() {
	w.stop()
	if w.timer != nil {
		w.timer.Stop()
	}
}
