package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/routing"
)

// A restart or an upgrade hands the agent's work to a new agent process
// without a moment where connections are refused:
//
//  1. The new agent sends POST /v1/handover (Upgrade: greenlight-agent-handover)
//     on the admin socket; the old one stops taking routing changes and answers
//     with its sockets (the lock, the admin socket, every listening socket) and
//     the routes it serves with each target's health.
//  2. The new agent restores the routes from agent-state.json on those sockets,
//     trusting the health the old one reported, gives its keeper the sockets,
//     and starts accepting: both agents accept on the same sockets for a moment.
//  3. It says it serves; the old agent stops accepting (admin API included:
//     what reaches it from then on is answered 503 with handedOverHeader, and
//     the client retries on a new connection), releases the supervised
//     processes and says so; the new agent adopts them and serves the admin API.
//  4. The old agent finishes its in-flight requests, bounded by the longest
//     deregistration delay of its services, and exits.
//
// A failure before step 3 leaves the old agent serving as if nothing happened.

// handoverProtocol is the Upgrade token of POST /v1/handover.
const handoverProtocol = "greenlight-agent-handover"

// handedOverHeader marks the answers of an agent that handed over to a
// successor: nothing was done, and a new connection reaches the successor.
const handedOverHeader = "Greenlight-Handed-Over"

// handoverTimeout bounds each step of a hand-over.
const handoverTimeout = 60 * time.Second

// postHandover is the old agent's side.
func (s *server) postHandover(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), handoverProtocol) {
		writeError(w, http.StatusBadRequest, fmt.Errorf("a hand-over needs Upgrade: %s", handoverProtocol))
		return
	}
	s.mu.Lock() // no routing change until the successor serves, or the hand-over failed
	if s.replaced.Load() {
		s.mu.Unlock()
		writeHandedOver(w)
		return
	}
	conn, err := upgrade(w)
	if err != nil {
		s.mu.Unlock()
		s.log.Error("hand-over", "err", err)
		return
	}
	defer conn.Close()
	successor, err := s.offer(conn)
	if err != nil {
		s.mu.Unlock()
		s.log.Warn("hand-over failed: this agent goes on serving", "err", err)
		return
	}
	s.retire()
	s.mu.Unlock()
	s.gate.Lock() // once every change in flight is answered; later ones get handedOverHeader
	err = s.sup.Close()
	s.gate.Unlock()
	if err == nil {
		err = writeMessage(conn, message{Kind: msgReleased}, nil)
	}
	s.log.Info("handed over: draining", "successor", successor, "err", err)
	s.shutdown()
}

// upgrade answers 101 and returns the admin connection, a unix socket.
func upgrade(w http.ResponseWriter) (*net.UnixConn, error) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, fmt.Errorf("take the connection: %w", err)
	}
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		_ = conn.Close()
		return nil, fmt.Errorf("hand-over over %T: only the unix admin socket passes sockets", conn)
	}
	_ = uc.SetDeadline(time.Now().Add(handoverTimeout))
	_, err = io.WriteString(uc, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+handoverProtocol+"\r\n\r\n")
	if err != nil {
		_ = uc.Close()
		return nil, fmt.Errorf("answer the hand-over: %w", err)
	}
	return uc, nil
}

// offer hands the sockets and routes over and waits until the successor
// serves; it returns the successor's pid.
func (s *server) offer(conn *net.UnixConn) (int, error) {
	want, extra, err := readMessage(conn)
	closeFiles(extra)
	if err == nil && (want.Kind != msgWant || want.State == nil) {
		err = fmt.Errorf("%w: %q, want %q", errBadFrame, want.Kind, msgWant)
	}
	if err != nil {
		return 0, err
	}
	names, files, owned, err := s.socks.files()
	if err != nil {
		return 0, err
	}
	defer closeFiles(owned)
	state := handoverState{PID: os.Getpid(), Version: s.version, Services: s.router.Services()}
	reply, extra, err := call(conn, message{Kind: msgFiles, Names: names, State: &state}, files)
	closeFiles(extra)
	if err == nil && reply.Kind != msgServing {
		err = fmt.Errorf("%w: %q, want %q", errBadFrame, reply.Kind, msgServing)
	}
	if err != nil {
		return 0, fmt.Errorf("successor pid %d: %w", want.State.PID, err)
	}
	return want.State.PID, nil
}

// retire makes this agent a former one: it stops accepting admin connections
// and answers those it has with handedOverHeader, its keeper lets go, and its
// watchdog stops (the successor runs its own).
func (s *server) retire() {
	s.replaced.Store(true)
	if err := s.socks.keeper.retire(); err != nil {
		s.log.Warn("socket keeper did not hear of the hand-over", "err", err)
	}
	s.socks.mu.Lock()
	if s.socks.admin != nil {
		s.socks.admin.SetUnlinkOnClose(false) // the successor serves that path
		_ = s.socks.admin.Close()
	}
	s.socks.mu.Unlock()
	if s.stopWatchdog != nil {
		s.stopWatchdog()
	}
}

func writeHandedOver(w http.ResponseWriter) {
	w.Header().Set(handedOverHeader, "1")
	w.Header().Set("Connection", "close")
	writeError(w, http.StatusServiceUnavailable, errors.New("this agent handed over to a new one: retry"))
}

// takeover is the new agent's side of a hand-over in progress.
type takeover struct {
	conn  *net.UnixConn
	state handoverState
}

// requestHandover asks the agent serving dir for its sockets and routes,
// waiting up to handoverTimeout for one that is still starting to answer.
func requestHandover(ctx context.Context, dir, version string) (*takeover, []string, []*os.File, error) {
	ctx, cancel := context.WithTimeout(ctx, handoverTimeout)
	defer cancel()
	for {
		t, names, files, err := tryHandover(ctx, dir, version)
		if err == nil || !errors.Is(err, errNotAnswering) {
			return t, names, files, err
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			return nil, nil, nil, fmt.Errorf("take over: %w", err)
		}
	}
}

var errNotAnswering = errors.New("the running agent does not answer")

func tryHandover(ctx context.Context, dir, version string) (*takeover, []string, []*os.File, error) {
	conn, err := dialAdmin(ctx, dir)
	if err != nil {
		return nil, nil, nil, err
	}
	t := &takeover{conn: conn}
	names, files, err := t.start(dir, version)
	if err != nil {
		t.abort()
		return nil, nil, nil, err
	}
	return t, names, files, nil
}

func dialAdmin(ctx context.Context, dir string) (*net.UnixConn, error) {
	sock, err := SocketPath(dir)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNotAnswering, err)
	}
	_ = c.SetDeadline(time.Now().Add(handoverTimeout))
	return c.(*net.UnixConn), nil
}

// start upgrades the connection and receives the sockets and the state.
func (t *takeover) start(dir, version string) ([]string, []*os.File, error) {
	token, err := os.ReadFile(filepath.Join(dir, TokenFile))
	if err != nil {
		return nil, nil, fmt.Errorf("read agent token: %w", err)
	}
	req, err := http.NewRequest(http.MethodPost, base+"/v1/handover", nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", handoverProtocol)
	if err := req.Write(t.conn); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errNotAnswering, err)
	}
	if err := readUpgrade(t.conn, req); err != nil {
		return nil, nil, err
	}
	want := message{Kind: msgWant, State: &handoverState{PID: os.Getpid(), Version: version}}
	m, files, err := call(t.conn, want, nil)
	if err == nil && (m.Kind != msgFiles || m.State == nil) {
		closeFiles(files)
		err = fmt.Errorf("%w: %q, want %q", errBadFrame, m.Kind, msgFiles)
	}
	if err != nil {
		return nil, nil, err
	}
	t.state = *m.State
	return m.Names, files, nil
}

// readUpgrade reads the answer to the hand-over request. The old agent sends
// nothing after it until asked, so no frame (and none of its descriptors) is
// read past it.
func readUpgrade(conn *net.UnixConn, req *http.Request) error {
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return fmt.Errorf("%w: %w", errNotAnswering, err)
	}
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get(handedOverHeader) != "" {
		_ = resp.Body.Close()
		return fmt.Errorf("%w: it is handing over to another agent", errNotAnswering)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		_ = resp.Body.Close()
		return fmt.Errorf("the running agent cannot hand over (%s: %s); stop it with `greenlight down` to replace it", resp.Status, strings.TrimSpace(string(body)))
	}
	if br.Buffered() > 0 {
		return fmt.Errorf("%w: bytes after the upgrade", errBadFrame)
	}
	return nil
}

// services returns the routes the old agent reported (nil without a
// hand-over).
func (t *takeover) services() map[string]routing.ServiceStatus {
	if t == nil {
		return nil
	}
	out := map[string]routing.ServiceStatus{}
	for _, st := range t.state.Services {
		out[st.Spec.Name] = st
	}
	return out
}

// serving tells the old agent this one serves, and waits until it released the
// supervised processes.
func (t *takeover) serving() error {
	m, files, err := call(t.conn, message{Kind: msgServing}, nil)
	closeFiles(files)
	if err == nil && m.Kind != msgReleased {
		err = fmt.Errorf("%w: %q, want %q", errBadFrame, m.Kind, msgReleased)
	}
	if err != nil {
		return fmt.Errorf("take over from pid %d: %w", t.state.PID, err)
	}
	return nil
}

// abort ends the hand-over; before serving, the old agent goes on as before.
func (t *takeover) abort() {
	if t != nil {
		_ = t.conn.Close()
	}
}

// pid is the old agent's pid, 0 without a hand-over.
func (t *takeover) pid() int {
	if t == nil {
		return 0
	}
	return t.state.PID
}
