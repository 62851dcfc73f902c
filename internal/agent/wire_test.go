package agent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"reflect"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/routing"
)

// linkedConns returns the two ends of a socket pair, closed when the test ends.
func linkedConns(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	a, theirs, err := socketPair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := unixConnOf(theirs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// A message carries descriptors: what is written through a received one
// reaches the original.
func TestMessagesCarryDescriptors(t *testing.T) {
	a, b := linkedConns(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	sent := message{Kind: msgHold, Names: []string{"tcp 127.0.0.1:1"}, State: &handoverState{PID: 7, Services: []routing.ServiceStatus{{Version: 3}}}}
	if err := writeMessage(a, sent, []*os.File{pw}); err != nil {
		t.Fatal(err)
	}
	pw.Close() // the receiver's copy keeps the pipe open
	got, files, err := readMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sent) || len(files) != 1 {
		t.Fatalf("received %+v with %d files, sent %+v with 1", got, len(files), sent)
	}
	if _, err := files[0].WriteString("through the handed-over descriptor"); err != nil {
		t.Fatal(err)
	}
	files[0].Close()
	if b, _ := io.ReadAll(pr); string(b) != "through the handed-over descriptor" {
		t.Fatalf("read %q from the original pipe", b)
	}
}

// An error answer is an error; a frame whose descriptors and names disagree
// is refused and its descriptors closed.
func TestBadMessagesAreRefused(t *testing.T) {
	a, b := linkedConns(t)
	if err := writeMessage(a, message{Kind: msgError, Error: "no such socket"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readMessage(b); err == nil || !bytes.Contains([]byte(err.Error()), []byte("no such socket")) {
		t.Fatalf("error answer: %v", err)
	}
	_, pw, _ := os.Pipe()
	defer pw.Close()
	if err := writeMessage(a, message{Kind: msgHold}, []*os.File{pw}); err != nil {
		t.Fatal(err)
	}
	if _, files, err := readMessage(b); !errors.Is(err, errBadFrame) || files != nil {
		t.Fatalf("one descriptor, no name: %v, %v", files, err)
	}
}

func frame(body string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	return append(b, body...)
}

func FuzzDecodeFrame(f *testing.F) {
	for _, seed := range [][]byte{
		frame(`{"kind":"hello"}`),
		frame(`{"kind":"files","names":["lock","admin","tcp 127.0.0.1:7080"],"take_over":true}`),
		frame(`{"kind":"files","names":["lock"],"state":{"pid":12,"version":"abc","services":[{"spec":{"name":"web"},"version":4}]}}`),
		frame(`{"kind":"error","error":"unknown message"}`),
		frame(`{}`),
		frame(`{"kind":`),
		{0, 0, 0, 0},
		{0xff, 0xff, 0xff, 0xff},
		{0, 0, 0, 9, '{'},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeFrame(bytes.NewReader(data))
		if err != nil {
			return
		}
		if m.Kind == "" {
			t.Fatalf("decoded a message without a kind from %q", data)
		}
		again, err := encodeFrame(m)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", m, err)
		}
		back, err := decodeFrame(bytes.NewReader(again))
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip of %+v: %+v, %v", m, back, err)
		}
	})
}
