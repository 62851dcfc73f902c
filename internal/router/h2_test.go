package router

import (
	"bytes"
	"context"
	"crypto/tls"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestHTTP2StreamsDrainWithGOAWAY: when a listener shuts down (the service is
// removed), an HTTP/2 client gets GOAWAY at once, and its stream in flight
// still gets its whole response.
func TestHTTP2StreamsDrainWithGOAWAY(t *testing.T) {
	r := newTestRouter(t)
	ca, st := httpsService(t, r, "goaway", "h2.test", startBackend(t, "b").target("b1"))

	conn, err := tls.Dial("tcp", st.ProductionAddress, &tls.Config{RootCAs: ca.pool, ServerName: "h2.test", NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if conn.ConnectionState().NegotiatedProtocol != "h2" {
		t.Fatalf("ALPN chose %q", conn.ConnectionState().NegotiatedProtocol)
	}
	fr := http2.NewFramer(conn, conn)
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "h2.test"}, {":path", "/sleep/1s"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the stream in flight", func() bool {
		ts, _ := targetState(r, "goaway", "b1")
		return ts.InFlight == 1
	})
	removed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		removed <- r.Remove(ctx, "goaway")
	}()

	var goaway, status200, body, ended bool
	dec := hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		if f.Name == ":status" && f.Value == "200" {
			status200 = true
		}
	})
	for !ended {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("read frame (goaway %v, 200 %v, body %v): %v", goaway, status200, body, err)
		}
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			goaway = true
			if status200 {
				t.Fatal("GOAWAY came after the response: the listener waited instead of announcing its shutdown")
			}
		case *http2.HeadersFrame:
			if _, err := dec.Write(f.HeaderBlockFragment()); err != nil {
				t.Fatal(err)
			}
			ended = f.StreamEnded()
		case *http2.DataFrame:
			body = body || string(f.Data()) == "b"
			ended = f.StreamEnded()
		case *http2.RSTStreamFrame:
			t.Fatalf("stream reset: %v", f.ErrCode)
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		}
	}
	if !goaway || !status200 || !body {
		t.Fatalf("goaway %v, status 200 %v, body %v", goaway, status200, body)
	}
	if err := <-removed; err != nil {
		t.Fatalf("remove: %v", err)
	}
}
