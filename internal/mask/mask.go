// Package mask owns hiding secret values wherever text could show them: in a
// string, an error, or a stream written in pieces (a secret split across writes,
// each line of a multi-line secret).
package mask

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"sync"
)

// mask is the text that replaces a secret.
const mask = "***"

// Masker replaces secret values in text. A multi-line secret is also masked line
// by line, so that each of its lines is hidden wherever it shows up.
type Masker struct {
	secrets  []string // longest first, so a secret is never half-masked by a shorter one
	replacer *strings.Replacer
	longest  int
}

// NewMasker returns a Masker of the secrets; blank ones are ignored.
func NewMasker(secrets []string) *Masker {
	seen := map[string]bool{}
	var list []string
	add := func(s string) {
		if strings.TrimSpace(s) != "" && !seen[s] {
			seen[s] = true
			list = append(list, s)
		}
	}
	for _, s := range secrets {
		add(s)
		add(strings.TrimRight(s, "\r\n"))
		for _, line := range strings.Split(s, "\n") {
			add(strings.TrimRight(line, "\r"))
		}
	}
	// A multi-line secret itself is never matched in a line-based stream; its
	// lines are. Keep it anyway for Mask on whole texts (failure messages).
	slices.SortStableFunc(list, func(a, b string) int { return len(b) - len(a) })
	m := &Masker{secrets: list}
	pairs := make([]string, 0, 2*len(list))
	for _, s := range list {
		pairs = append(pairs, s, mask)
		m.longest = max(m.longest, len(s))
	}
	m.replacer = strings.NewReplacer(pairs...)
	return m
}

// Mask returns s with every secret replaced.
func (m *Masker) Mask(s string) string {
	if len(m.secrets) == 0 {
		return s
	}
	return m.replacer.Replace(s)
}

// Writer returns a writer to w that masks the secrets (see NewMaskingWriter).
func (m *Masker) Writer(w io.Writer) io.WriteCloser {
	return &maskingWriter{w: w, m: m}
}

// Err returns err with its text masked, still wrapping err for errors.Is
// and errors.As; nil stays nil.
func Err(err error, m *Masker) error {
	if err == nil {
		return nil
	}
	text := m.Mask(err.Error())
	if text == err.Error() {
		return err
	}
	return &maskedError{err: err, text: text}
}

type maskedError struct {
	err  error
	text string
}

func (e *maskedError) Error() string { return e.text }
func (e *maskedError) Unwrap() error { return e.err }

// maskingWriter masks secrets in a stream. It holds back the end of the stream
// that could be the start of a secret, so that a secret split across two Writes
// is still masked; complete lines are passed on at once.
type maskingWriter struct {
	mu      sync.Mutex
	w       io.Writer
	m       *Masker
	pending []byte
}

// NewMaskingWriter returns a writer that writes to w with every secret replaced
// by "***", including each line of a multi-line secret and secrets split across
// Write calls. Close flushes what is held back; it does not close w. Safe for
// concurrent use; concurrent writers should write whole lines.
func NewMaskingWriter(w io.Writer, secrets []string) io.WriteCloser {
	return NewMasker(secrets).Writer(w)
}

func (mw *maskingWriter) Write(p []byte) (int, error) {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	mw.pending = append(mw.pending, p...)
	if err := mw.flush(false); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (mw *maskingWriter) Close() error {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	return mw.flush(true)
}

// flush writes out everything that can no longer become part of a secret: all
// complete lines (no secret line spans a newline), and of the unfinished line all
// but the tail that could be the start of a secret.
func (mw *maskingWriter) flush(all bool) error {
	cut := len(mw.pending)
	if !all {
		cut = mw.safeCut(bytes.LastIndexByte(mw.pending, '\n') + 1)
	}
	if cut == 0 {
		return nil
	}
	out := mw.m.Mask(string(mw.pending[:cut]))
	mw.pending = append(mw.pending[:0], mw.pending[cut:]...)
	_, err := io.WriteString(mw.w, out)
	return err
}

// safeCut is where the unfinished line starting at lineStart can be cut: before
// its last longest-1 bytes (a secret may be arriving), and never inside a secret
// that straddles that point.
func (mw *maskingWriter) safeCut(lineStart int) int {
	text := string(mw.pending)
	cut := max(len(text)-max(mw.m.longest-1, 0), lineStart)
	for moved := true; moved; {
		moved = false
		for _, s := range mw.m.secrets {
			from := max(lineStart, cut-len(s)+1)
			if from >= cut {
				continue
			}
			// Any occurrence starting in [from, cut) runs past cut.
			if i := strings.Index(text[from:], s); i >= 0 && from+i < cut {
				cut, moved = from+i, true
			}
		}
	}
	return cut
}
