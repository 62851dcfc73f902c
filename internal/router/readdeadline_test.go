package router

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// deadlineCounter is a real connection that counts its read deadline sets.
type deadlineCounter struct {
	net.Conn
	sets int
}

func (c *deadlineCounter) SetReadDeadline(t time.Time) error {
	c.sets++
	return c.Conn.SetReadDeadline(t)
}

func TestReadDeadlineIsSetOnlyWhenItMovesFar(t *testing.T) {
	_, server := tcpPair(t)
	conn := &deadlineCounter{Conn: server}
	var d readDeadline
	start := time.Now()
	steps := []struct {
		after  time.Duration
		forget bool
		sets   int
	}{
		{0, false, 1},                     // nothing set yet
		{10 * time.Millisecond, false, 1}, // 990 ms of 1 s still ahead: kept
		{40 * time.Millisecond, false, 2}, // 960 ms ahead, less than 31/32 s: set
		{40 * time.Millisecond, true, 3},  // set another way since: set again
	}
	for i, step := range steps {
		if step.forget {
			d.forget()
		}
		if err := d.extend(conn, start.Add(step.after), time.Second); err != nil {
			t.Fatal(err)
		}
		if conn.sets != step.sets {
			t.Fatalf("step %d: %d deadline sets, want %d", i, conn.sets, step.sets)
		}
	}
	// The deadline set is the connection's.
	d.forget()
	_ = d.extend(conn, time.Now(), 50*time.Millisecond)
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v", err)
	}
}
