// Package tail keeps the end of a stream: the last lines a hook or a task wrote,
// for the one-line reason of a failure.
package tail

import "strings"

// Buffer keeps the last bytes written to it (4 KiB) and returns their last lines.
// It is not safe for concurrent use.
type Buffer struct{ buf []byte }

const keep = 4096

// Write keeps the end of what was written so far; it never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if len(b.buf) > keep {
		b.buf = b.buf[len(b.buf)-keep:]
	}
	return len(p), nil
}

// Lines returns the last five lines written (nil when nothing was).
func (b *Buffer) Lines() []string {
	all := strings.Split(strings.TrimSpace(string(b.buf)), "\n")
	if len(all) > 5 {
		all = all[len(all)-5:]
	}
	if len(all) == 1 && all[0] == "" {
		return nil
	}
	return all
}
