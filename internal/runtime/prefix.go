package runtime

import (
	"bytes"
	"io"
)

// PrefixLines returns a writer that writes whole lines to w, each after
// "container | ", as the logs of a task of several containers show them; a
// partial last line waits for its end.
func PrefixLines(w io.Writer, container string) io.Writer {
	return &prefixWriter{w: w, prefix: []byte(container + " | ")}
}

type prefixWriter struct {
	w       io.Writer
	prefix  []byte
	partial []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := append(append([]byte(nil), p.prefix...), p.partial[:i+1]...)
		if _, err := p.w.Write(line); err != nil {
			return len(b), err
		}
		p.partial = p.partial[i+1:]
	}
}
