package agent

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/greenlight-ci/greenlight/internal/routing"
	"golang.org/x/sys/unix"
)

// The hand-over protocol runs on two links: between an agent and its socket
// keeper (a socket pair), and between an agent and its successor (the admin
// socket, upgraded). Each message is a frame: a 4-byte big-endian length, then
// the message as JSON; the descriptors it hands over ride with the frame's
// first byte (SCM_RIGHTS). Every message is answered before the next is sent,
// so a frame's descriptors never mix with another's on the stream.

// msgKind is what a message asks or says.
type msgKind string

// Messages between an agent and its keeper.
const (
	// msgHello asks the keeper for the sockets it holds; answered by msgFiles.
	msgHello msgKind = "hello"
	// msgHold gives the keeper sockets to keep (the descriptors come with it).
	msgHold msgKind = "hold"
	// msgRelease tells the keeper that the named sockets are closed for good.
	msgRelease msgKind = "release"
	// msgUp says the agent serves: the keeper restarts it if it dies.
	msgUp msgKind = "up"
	// msgRetire says another agent took over: the keeper lets every socket go
	// and does not restart this agent.
	msgRetire msgKind = "retire"
	// msgOK answers a message that needed nothing else.
	msgOK msgKind = "ok"
	// msgError answers a message that failed; Error says why.
	msgError msgKind = "error"
)

// Messages between an agent and its successor, after the upgrade of a
// POST /v1/handover request.
const (
	// msgWant asks the running agent for its sockets and routes; answered by
	// msgFiles with State.
	msgWant msgKind = "want"
	// msgFiles carries sockets: the keeper's (answering msgHello) or the old
	// agent's with its state (answering msgWant).
	msgFiles msgKind = "files"
	// msgServing says the successor serves the routes: the old agent stops
	// accepting; answered by msgReleased once its supervisor let go.
	msgServing msgKind = "serving"
	// msgReleased says the old agent released the supervised processes.
	msgReleased msgKind = "released"
)

// Names of the sockets handed over besides the router's listeners, which are
// named by listenerName.
const (
	fileLock  = "lock"  // agent.lock: held for the life of the state directory's agent
	fileAdmin = "admin" // the admin API's unix socket
)

// listenerName names a router listening socket by the network and address it
// was asked for.
func listenerName(network, address string) string { return network + " " + address }

// message is one frame of the protocol.
type message struct {
	Kind msgKind `json:"kind"`
	// Names names the descriptors that came with the message, in order, or the
	// sockets a msgRelease lets go.
	Names []string `json:"names,omitempty"`
	// TakeOver, in the keeper's msgFiles, says the agent is to take over from
	// the agent running now.
	TakeOver bool           `json:"take_over,omitempty"`
	State    *handoverState `json:"state,omitempty"`
	Error    string         `json:"error,omitempty"`
}

// handoverState is what the old agent tells its successor besides the sockets.
type handoverState struct {
	PID     int    `json:"pid"`
	Version string `json:"version"`
	// Services are the routes it served with each target's health, which the
	// successor trusts instead of taking healthy targets out of rotation.
	Services []routing.ServiceStatus `json:"services"`
}

// Limits of a frame: nothing legitimate comes near them.
const (
	maxFrame = 16 << 20
	maxFiles = 250 // SCM_MAX_FD is 253
)

var errBadFrame = errors.New("bad hand-over frame")

// writeMessage sends m with files (their descriptors are duplicated into the
// receiver; the caller still owns and closes its own).
func writeMessage(c *net.UnixConn, m message, files []*os.File) error {
	if len(files) > maxFiles {
		return fmt.Errorf("send %s: %d descriptors, at most %d", m.Kind, len(files), maxFiles)
	}
	frame, err := encodeFrame(m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(files) > 0 {
		fds, err := dupAll(files)
		if err != nil {
			return fmt.Errorf("send %s: %w", m.Kind, err)
		}
		defer closeFDs(fds)
		oob = syscall.UnixRights(fds...)
	}
	n, _, err := c.WriteMsgUnix(frame, oob, nil)
	if err == nil && n < len(frame) {
		_, err = c.Write(frame[n:]) // the descriptors went with the first byte
	}
	if err != nil {
		return fmt.Errorf("send %s: %w", m.Kind, err)
	}
	return nil
}

// dupAll duplicates the descriptors of files without os.File.Fd, which would
// put them in blocking mode: a mode the sockets share with every process
// holding them, where it would make the agent's accepts block.
func dupAll(files []*os.File) ([]int, error) {
	fds := make([]int, 0, len(files))
	for _, f := range files {
		fd, err := dupFile(f)
		if err != nil {
			closeFDs(fds)
			return nil, err
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

func dupFile(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("descriptor of %s: %w", f.Name(), err)
	}
	fd, dupErr := -1, error(nil)
	// Close-on-exec from the start: no process started meanwhile inherits it.
	err = rc.Control(func(raw uintptr) { fd, dupErr = unix.FcntlInt(raw, unix.F_DUPFD_CLOEXEC, 0) })
	if err = errors.Join(err, dupErr); err != nil {
		return -1, fmt.Errorf("duplicate %s: %w", f.Name(), err)
	}
	return fd, nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		_ = syscall.Close(fd)
	}
}

func encodeFrame(m message) ([]byte, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.Kind, err)
	}
	frame := make([]byte, 4, 4+len(body))
	binary.BigEndian.PutUint32(frame, uint32(len(body)))
	return append(frame, body...), nil
}

// readMessage reads one message and the descriptors that came with it (close-on-
// exec, owned by the caller). A message of kind msgError is returned as an
// error.
func readMessage(c *net.UnixConn) (message, []*os.File, error) {
	head := make([]byte, 4)
	oob := make([]byte, syscall.CmsgSpace(4*maxFiles))
	n, oobn, flags, _, err := c.ReadMsgUnix(head, oob)
	if err != nil {
		return message{}, nil, fmt.Errorf("read hand-over frame: %w", err)
	}
	files, ferr := receivedFiles(oob[:oobn])
	if ferr == nil && flags&syscall.MSG_CTRUNC != 0 {
		ferr = fmt.Errorf("%w: descriptors truncated", errBadFrame)
	}
	if n == 0 {
		ferr = errors.Join(ferr, io.ErrUnexpectedEOF)
	}
	var m message
	if ferr == nil {
		m, ferr = decodeFrame(io.MultiReader(bytes.NewReader(head[:n]), c))
	}
	if ferr == nil && len(files) > 0 && len(files) != len(m.Names) {
		ferr = fmt.Errorf("%w: %d descriptors for %d names", errBadFrame, len(files), len(m.Names))
	}
	if ferr == nil && m.Kind == msgError {
		ferr = fmt.Errorf("hand-over peer: %s", m.Error)
	}
	if ferr != nil {
		closeFiles(files)
		return message{}, nil, ferr
	}
	return m, files, nil
}

// decodeFrame reads one frame: its length, then that much JSON.
func decodeFrame(r io.Reader) (message, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return message{}, fmt.Errorf("read hand-over frame: %w", err)
	}
	size := binary.BigEndian.Uint32(head[:])
	if size == 0 || size > maxFrame {
		return message{}, fmt.Errorf("%w: length %d", errBadFrame, size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return message{}, fmt.Errorf("read hand-over frame: %w", err)
	}
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		return message{}, fmt.Errorf("%w: %w", errBadFrame, err)
	}
	if m.Kind == "" {
		return message{}, fmt.Errorf("%w: no kind", errBadFrame)
	}
	return m, nil
}

// receivedFiles turns the SCM_RIGHTS of a read into files, close-on-exec so
// that no supervised process inherits a listening socket.
func receivedFiles(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadFrame, err)
	}
	var files []*os.File
	var errs []error
	for _, cm := range msgs {
		fds, err := syscall.ParseUnixRights(&cm)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, fd := range fds {
			syscall.CloseOnExec(fd)
			files = append(files, os.NewFile(uintptr(fd), "handed-over"))
		}
	}
	if len(errs) > 0 {
		closeFiles(files)
		return nil, fmt.Errorf("%w: %w", errBadFrame, errors.Join(errs...))
	}
	return files, nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}

// call sends m and reads the answer: the protocol's every exchange.
func call(c *net.UnixConn, m message, files []*os.File) (message, []*os.File, error) {
	if err := writeMessage(c, m, files); err != nil {
		return message{}, nil, err
	}
	return readMessage(c)
}
