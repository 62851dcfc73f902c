package router

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestWatchAroundItsDelay: exchanges that end just before, as, and just
// after the watch starts (between one and two watch delays), some with the
// next request sent while the first is at the target (the watch reads its
// first byte and hands it back), on connections that stay open: every
// response comes, whole and in order.
func TestWatchAroundItsDelay(t *testing.T) {
	addr := fastRouter(t, newTestRouter(t), startBackend(t, "b"))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for conn := range 8 {
		wg.Go(func() {
			rc := dialRaw(t, addr)
			for i := range 6 {
				d := watchDelay/2 + time.Duration(conn*6+i)*watchDelay/16 // 50 ms to 340 ms
				rc.send(fmt.Sprintf("GET /sleep/%s HTTP/1.1\r\nHost: x\r\n\r\n", d))
				pipelined := (conn+i)%2 == 0
				if pipelined {
					time.Sleep(d / 2)
					rc.send("GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
				}
				if resp, body := rc.read(http.MethodGet); resp.StatusCode != 200 || body != "b" {
					errs <- fmt.Errorf("conn %d request %d (%s): %d %q", conn, i, d, resp.StatusCode, body)
					return
				}
				if pipelined {
					if resp, body := rc.read(http.MethodGet); resp.StatusCode != 200 || body != "hello from the backend\n" {
						errs <- fmt.Errorf("conn %d pipelined %d: %d %q", conn, i, resp.StatusCode, body)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
