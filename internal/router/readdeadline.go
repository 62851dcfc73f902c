package router

import (
	"net"
	"time"
)

// readDeadline is the read deadline a connection's owner set last with
// extend, so that extend can leave it be while it is nearly as far ahead as
// asked: setting a deadline modifies a runtime timer under a lock, and the
// fast path would do it twice per request (the client's idle timeout, the
// target's response header timeout). A wait it bounds may so end up to
// 1/32 of its timeout early (2 s of a minute). Whoever sets the
// connection's read deadline another way calls forget.
type readDeadline struct{ at time.Time }

// extend makes the deadline now+timeout, or keeps the one set last if more
// than 31/32 of timeout is still ahead of now.
func (d *readDeadline) extend(conn net.Conn, now time.Time, timeout time.Duration) error {
	if !d.at.IsZero() && d.at.Sub(now) > timeout-timeout>>5 {
		return nil
	}
	d.at = now.Add(timeout)
	return conn.SetReadDeadline(d.at)
}

// forget says the connection's read deadline was set another way.
func (d *readDeadline) forget() { d.at = time.Time{} }
