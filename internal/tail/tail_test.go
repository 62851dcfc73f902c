package tail

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestBufferKeepsTheLastFiveLines(t *testing.T) {
	var b Buffer
	for i := range 3000 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	want := []string{"line 2995", "line 2996", "line 2997", "line 2998", "line 2999"}
	if got := b.Lines(); !reflect.DeepEqual(got, want) {
		t.Errorf("Lines() = %q, want %q", got, want)
	}
	if len(b.buf) > keep {
		t.Errorf("kept %d bytes, want at most %d", len(b.buf), keep)
	}
}

func TestBufferOfNothingHasNoLines(t *testing.T) {
	var b Buffer
	if got := b.Lines(); got != nil {
		t.Errorf("empty: %q", got)
	}
	_, _ = b.Write([]byte("\n\n  \n"))
	if got := b.Lines(); got != nil {
		t.Errorf("blank: %q", got)
	}
	_, _ = b.Write([]byte("exit status 1: " + strings.Repeat("x", 10)))
	if got := b.Lines(); len(got) != 1 || !strings.HasPrefix(got[0], "exit status 1") {
		t.Errorf("one line: %q", got)
	}
}
