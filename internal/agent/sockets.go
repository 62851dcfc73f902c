package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/greenlight-ci/greenlight/internal/flock"
	"github.com/greenlight-ci/greenlight/internal/router"
)

// sockets are the descriptors an agent shares with its keeper and hands to its
// successor: the state directory's lock, the admin API's unix socket, and the
// router's listening sockets by the address they were asked for. Sockets that
// came from a keeper or a predecessor wait in inherited until the router asks
// for their address.
type sockets struct {
	keeper *keeperLink // nil: no keeper
	log    *slog.Logger

	mu        sync.Mutex
	lock      *flock.Lock
	admin     *net.UnixListener
	open      map[string]*keptListener // the router's listeners not closed yet
	inherited map[string]*os.File
}

func newSockets(keeper *keeperLink, log *slog.Logger) *sockets {
	return &sockets{keeper: keeper, log: log, open: map[string]*keptListener{}, inherited: map[string]*os.File{}}
}

// adopt takes descriptors handed over by a keeper or a predecessor.
func (s *sockets) adopt(names []string, files []*os.File) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for i, name := range names {
		f := files[i]
		switch {
		case name == fileLock:
			s.lock.Drop()
			s.lock = flock.Adopt(f)
		case name == fileAdmin:
			errs = append(errs, s.adoptAdmin(f))
		case strings.HasPrefix(name, "tcp "):
			if old := s.inherited[name]; old != nil {
				_ = old.Close()
			}
			s.inherited[name] = f
		default:
			_ = f.Close()
			errs = append(errs, fmt.Errorf("handed-over socket %q: unknown", name))
		}
	}
	return errors.Join(errs...)
}

func (s *sockets) adoptAdmin(f *os.File) error {
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return fmt.Errorf("handed-over admin socket: %w", err)
	}
	ul, ok := ln.(*net.UnixListener)
	if !ok {
		_ = ln.Close()
		return fmt.Errorf("handed-over admin socket is %T, not a unix socket", ln)
	}
	if s.admin != nil {
		_ = s.admin.Close()
	}
	ul.SetUnlinkOnClose(false) // the path belongs to whoever serves it last
	s.admin = ul
	return nil
}

// listen is the router's Options.Listen: an inherited socket for the address
// when there is one, else a new one, given to the keeper to hold.
func (s *sockets) listen(network, address string) (net.Listener, error) {
	name := listenerName(network, address)
	s.mu.Lock()
	f := s.inherited[name]
	delete(s.inherited, name)
	s.mu.Unlock()
	var ln net.Listener
	var err error
	if f != nil {
		ln, err = router.ListenerFromFile(f)
		_ = f.Close()
	} else {
		ln, err = net.Listen(network, address)
		if err == nil {
			s.hold(name, ln)
		}
	}
	if err != nil {
		return nil, err
	}
	kl := &keptListener{Listener: ln, name: name, socks: s}
	s.mu.Lock()
	s.open[name] = kl
	s.mu.Unlock()
	return kl, nil
}

// hold gives the keeper a descriptor of a new socket. Without it the socket
// would still serve, but would not survive a crash: a warning, not an error.
func (s *sockets) hold(name string, ln any) {
	if s.keeper == nil {
		return
	}
	f, err := fileOf(ln)
	if err == nil {
		err = s.keeper.hold([]string{name}, []*os.File{f})
		_ = f.Close()
	}
	if err != nil {
		s.log.Warn("socket keeper does not hold a socket: it would not survive a crash", "socket", name, "err", err)
	}
}

// fileOf returns a duplicate descriptor of a listening socket.
func fileOf(ln any) (*os.File, error) {
	fl, ok := ln.(interface{ File() (*os.File, error) })
	if !ok {
		return nil, fmt.Errorf("socket %T has no descriptor", ln)
	}
	f, err := fl.File()
	if err != nil {
		return nil, fmt.Errorf("duplicate socket: %w", err)
	}
	return f, nil
}

// closed forgets a router listener that closed for good.
func (s *sockets) closed(kl *keptListener) {
	s.mu.Lock()
	if s.open[kl.name] == kl {
		delete(s.open, kl.name)
	}
	s.mu.Unlock()
	if err := s.keeper.release([]string{kl.name}); err != nil {
		s.log.Warn("socket keeper did not release a closed socket", "socket", kl.name, "err", err)
	}
}

// closeUnclaimed closes the inherited sockets no restored route asked for.
func (s *sockets) closeUnclaimed() {
	s.mu.Lock()
	names := slices.Sorted(maps.Keys(s.inherited))
	for _, name := range names {
		_ = s.inherited[name].Close()
		s.log.Info("inherited socket no route uses: closed", "socket", name)
	}
	clear(s.inherited)
	s.mu.Unlock()
	if len(names) > 0 {
		if err := s.keeper.release(names); err != nil {
			s.log.Warn("socket keeper did not release unused sockets", "err", err)
		}
	}
}

// files returns descriptors of every socket to hand over, with their names:
// the lock, the admin socket and the router's open listeners. The caller
// closes them (not the lock, which stays this process's own).
func (s *sockets) files() (names []string, files []*os.File, owned []*os.File, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock != nil {
		names, files = append(names, fileLock), append(files, s.lock.File())
	}
	add := func(name string, ln any) {
		f, ferr := fileOf(ln)
		if ferr != nil {
			err = errors.Join(err, fmt.Errorf("%s: %w", name, ferr))
			return
		}
		names, files, owned = append(names, name), append(files, f), append(owned, f)
	}
	if s.admin != nil {
		add(fileAdmin, s.admin)
	}
	for _, name := range slices.Sorted(maps.Keys(s.open)) {
		add(name, s.open[name].Listener)
	}
	if err != nil {
		closeFiles(owned)
		return nil, nil, nil, err
	}
	return names, files, owned, nil
}

// holdAll gives the keeper every socket (a successor's keeper starts empty).
func (s *sockets) holdAll() error {
	if s.keeper == nil {
		return nil
	}
	names, files, owned, err := s.files()
	if err != nil {
		return err
	}
	defer closeFiles(owned)
	return s.keeper.hold(names, files)
}

// keptListener is a router listener that tells the keeper when it closes.
type keptListener struct {
	net.Listener
	name  string
	socks *sockets
	once  sync.Once
}

func (l *keptListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { l.socks.closed(l) })
	return err
}

// dropAll lets go of this process's descriptors: the lock stays with the
// processes it was handed to (if any), and goes with the last of them.
func (s *sockets) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lock.Drop()
	if s.admin != nil {
		_ = s.admin.Close()
	}
	for name, f := range s.inherited {
		_ = f.Close()
		delete(s.inherited, name)
	}
}
