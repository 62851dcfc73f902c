package build

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// shell is one long-lived shell process that runs a build's commands, so that
// variables (exported or not), functions and the working directory carry over
// from command to command and phase to phase, as in buildspec v0.2.
//
// Each command is written to its own script file and sourced inside a brace
// group whose stdin is /dev/null (a command reading stdin must not eat the next
// command). After it, the shell prints a marker line carrying $? to fd 3, which
// is the same pipe as its stdout and stderr: the marker arrives after all the
// command's output, and a command redirecting its own stdout cannot swallow it.
// The marker holds a random nonce, so command output cannot forge one.
type shell struct {
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	output    *os.File // read end of the output pipe
	scriptDir string
	marker    string
	statuses  chan int
	exited    chan struct{} // closed when the shell process has exited
	exitCode  int           // valid once exited is closed
	readDone  chan struct{} // closed when the output reader has stopped
	scripts   int
}

// errShellExited means the shell itself exited while running a command (the
// command ran `exit`, or `set -e` met a failure): its state is gone.
var errShellExited = errors.New("the shell exited")

type shellConfig struct {
	path      string   // bash or sh, resolved
	env       []string // KEY=VALUE
	dir       string   // working directory
	scriptDir string   // private directory for command scripts
	output    io.Writer
}

func startShell(cfg shellConfig) (*shell, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("shell marker nonce: %w", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("shell output pipe: %w", err)
	}
	cmd := exec.Command(cfg.path)
	if filepath.Base(cfg.path) == "bash" {
		cmd.Args = append(cmd.Args, "--noprofile", "--norc")
	}
	cmd.Env, cmd.Dir = cfg.env, cfg.dir
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.ExtraFiles = []*os.File{pw} // fd 3: markers
	// Own process group: a timeout or stop kills every process the build started,
	// and after a crash of this process the next one kills what is left of the
	// group (Request.Started records it). No Pdeathsig: Linux sends it when the
	// starting thread ends, not the process, and it would reach the shell alone,
	// leaving the command it runs (and anything in the background) behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("shell stdin: %w", err)
	}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("start %s: %w", cfg.path, err)
	}
	pw.Close() // the shell and its children hold the write end now
	s := &shell{
		cmd: cmd, stdin: stdin, output: pr, scriptDir: cfg.scriptDir,
		marker:   "__greenlight_" + hex.EncodeToString(nonce) + "_status=",
		statuses: make(chan int, 1),
		exited:   make(chan struct{}),
		readDone: make(chan struct{}),
	}
	go s.wait()
	go s.read(cfg.output)
	return s, nil
}

func (s *shell) wait() {
	err := s.cmd.Wait()
	s.exitCode = exitCode(s.cmd.ProcessState, err)
	close(s.exited)
}

func exitCode(ps *os.ProcessState, err error) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if code := ps.ExitCode(); code >= 0 {
		return code
	}
	if err != nil {
		return -1
	}
	return 0
}

// read copies the shell's output to out line by line and turns marker lines into
// exit statuses.
func (s *shell) read(out io.Writer) {
	defer close(s.readDone)
	var pending []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := s.output.Read(buf)
		pending = append(pending, buf[:n]...)
		for {
			i := bytes.IndexByte(pending, '\n')
			if i < 0 {
				break
			}
			s.line(out, string(pending[:i]))
			pending = pending[i+1:]
		}
		// A very long line without a newline goes out in pieces; keep back what
		// could be the start of a marker.
		if keep := len(s.marker) + 24; len(pending) > 64<<10 {
			_, _ = io.WriteString(out, string(pending[:len(pending)-keep])+"\n")
			pending = append([]byte(nil), pending[len(pending)-keep:]...)
		}
		if err != nil {
			if len(pending) > 0 {
				s.line(out, string(pending))
			}
			return
		}
	}
}

func (s *shell) line(out io.Writer, line string) {
	i := strings.Index(line, s.marker)
	if i < 0 {
		_, _ = io.WriteString(out, line+"\n")
		return
	}
	// Output without a final newline ends up before the marker.
	if i > 0 {
		_, _ = io.WriteString(out, line[:i]+"\n")
	}
	code, err := strconv.Atoi(line[i+len(s.marker):])
	if err != nil {
		code = -1
	}
	s.statuses <- code
}

// run runs one command and returns its exit status. err is errShellExited when
// the command ended the shell (code is then the shell's exit status), or the
// context's error when ctx ended first (the process group is then killed).
func (s *shell) run(ctx context.Context, script string) (code int, err error) {
	select {
	case <-s.exited:
		return -1, errShellExited
	default:
	}
	s.scripts++
	file := filepath.Join(s.scriptDir, fmt.Sprintf("command-%d.sh", s.scripts))
	if err := os.WriteFile(file, []byte(script+"\n"), 0o600); err != nil {
		return -1, fmt.Errorf("write command script: %w", err)
	}
	line := fmt.Sprintf("{ . %s; } </dev/null 3>&-; printf '%s%%d\\n' \"$?\" >&3\n", shellQuote(file), s.marker)
	if _, err := io.WriteString(s.stdin, line); err != nil {
		select {
		case <-s.exited:
			return s.exitCode, errShellExited
		case <-time.After(5 * time.Second):
			return -1, fmt.Errorf("send command to shell: %w", err)
		}
	}
	select {
	case code := <-s.statuses:
		return code, nil
	case <-s.exited:
		// The marker may have been written just before the shell exited.
		select {
		case code := <-s.statuses:
			return code, nil
		case <-time.After(100 * time.Millisecond):
		}
		return s.exitCode, errShellExited
	case <-ctx.Done():
		s.kill()
		return -1, ctx.Err()
	}
}

// alive reports whether the shell process still runs.
func (s *shell) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// kill kills the shell's whole process group.
func (s *shell) kill() {
	// Negative pid: the group. ESRCH (already gone) is fine.
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
}

// close ends the shell: EOF on its input, then every process left in its group
// (background servers the build started) is killed, as when a CodeBuild
// container ends. It waits for the output to drain, but not forever: a process
// that left the group may hold the pipe open.
func (s *shell) close() {
	s.stdin.Close()
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
	}
	s.kill()
	<-s.exited
	select {
	case <-s.readDone:
	case <-time.After(2 * time.Second):
		s.output.Close()
		<-s.readDone
	}
	s.output.Close()
}

// shellQuote quotes s for POSIX shells.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
