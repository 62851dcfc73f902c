package supervisor

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"strconv"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// addressLocked picks the task's own loopback address, as awsvpc gives each ECS
// task its own: 127.a.b.c derived from the task's ID (the whole of 127/8 is
// loopback), moving on while another task of this supervisor holds it or one of
// the task's container ports is taken there. It returns the address and the
// target container's port; a target without one gets a free port.
func (s *Supervisor) addressLocked(spec runtime.TaskSpec) (string, int, error) {
	inUse := map[string]bool{}
	for _, t := range s.tasks {
		if t.Host != "" && (t.State == runtime.TaskRunning || t.stopping) {
			inUse[t.Host] = true
		}
	}
	var ports []int
	for _, c := range spec.ContainerSpecs() {
		ports = append(ports, c.Ports...)
	}
	h := fnv.New32a()
	h.Write([]byte(spec.ID))
	seed := h.Sum32()
	for i := range uint32(64) {
		host := loopbackHost(seed + i*2654435761)
		if inUse[host] || !portsFree(host, ports) {
			continue
		}
		port := spec.TargetPort()
		if port == 0 {
			var err error
			if port, err = freePort(host); err != nil {
				continue
			}
		}
		return host, port, nil
	}
	return "", 0, errors.New("no loopback address has the task's ports free")
}

// loopbackHost spreads h over 127.1.0.1 to 127.254.255.254, away from 127.0.0.1.
func loopbackHost(h uint32) string {
	return fmt.Sprintf("127.%d.%d.%d", 1+h%254, (h>>8)&255, 1+(h>>16)%254)
}

// portsFree reports whether every port can be bound on host now. Another
// program may take one before the task binds it; the task then fails to start,
// visibly.
func portsFree(host string, ports []int) bool {
	for _, p := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			return false
		}
		ln.Close()
	}
	return true
}

// freePort asks the kernel for a port nobody uses on host.
func freePort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
