package manifest

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (d *decoder) services(n *node) map[string]*Service {
	out := map[string]*Service{}
	d.mapOf(n, "services", func(name string, keyPos Pos, v *node) {
		out[name] = d.service(name, keyPos, v)
	})
	return out
}

func (d *decoder) service(name string, keyPos Pos, n *node) *Service {
	s := &Service{
		Name: name, Pos: keyPos, Driver: DriverAuto, DesiredCount: 1,
		DeregistrationDelay: Duration(30 * time.Second), HealthCheck: defaultHealthCheck(),
	}
	d.object(n, "service "+quote(name), s,
		opt("driver", func(v *node) { s.Driver, _ = d.enum(v, "driver", DriverAuto, DriverDocker, DriverProcess) }),
		opt("desired_count", func(v *node) { s.DesiredCount, _ = d.intIn(v, "desired_count", 1, 10) }),
		req("listeners", func(v *node) { d.listeners(v, &s.Listeners) }),
		opt("health_check", func(v *node) { s.HealthCheck = d.healthCheck(v) }),
		opt("deregistration_delay", func(v *node) {
			s.DeregistrationDelay, _ = d.durationIn(v, "deregistration_delay", 0, time.Hour)
		}),
		opt("process", func(v *node) { s.Process = d.process(v) }),
	)
	return s
}

func (d *decoder) listeners(n *node, l *Listeners) {
	addr := func(key string, dst *string) func(v *node) {
		return func(v *node) {
			s, ok := d.name(v, key)
			if ok && d.checkAddress(v, key, s) {
				*dst = s
			}
		}
	}
	d.object(n, "listeners", l,
		req("production", addr("production", &l.Production)),
		opt("test", addr("test", &l.Test)),
	)
}

func (d *decoder) checkAddress(v *node, key, s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		d.errorf(v.pos, "%s: %q is not a host:port address (like 127.0.0.1:8080)", key, clip(s))
		return false
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		d.errorf(v.pos, "%s: port %q out of range (allowed: 1 to 65535)", key, port)
		return false
	}
	if host != "" && net.ParseIP(host) == nil && !isHostname(host) {
		d.errorf(v.pos, "%s: %q is not an IP address or host name", key, host)
		return false
	}
	return true
}

func isHostname(h string) bool {
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

func defaultHealthCheck() HealthCheck {
	return HealthCheck{
		Path: "/", Interval: Duration(5 * time.Second), Timeout: Duration(2 * time.Second),
		HealthyThreshold: 2, UnhealthyThreshold: 2, Matcher: "200",
	}
}

func (d *decoder) healthCheck(n *node) HealthCheck {
	hc := defaultHealthCheck()
	timeoutSet := false
	d.object(n, "health_check", &hc,
		opt("path", func(v *node) {
			if s, ok := d.name(v, "path"); ok {
				if !strings.HasPrefix(s, "/") {
					d.errorf(v.pos, "path: %q must start with /", clip(s))
				}
				hc.Path = s
			}
		}),
		opt("interval", func(v *node) { hc.Interval, _ = d.durationIn(v, "interval", 100*time.Millisecond, 5*time.Minute) }),
		opt("timeout", func(v *node) {
			timeoutSet = true
			hc.Timeout, _ = d.durationIn(v, "timeout", 10*time.Millisecond, 2*time.Minute)
		}),
		opt("healthy_threshold", func(v *node) { hc.HealthyThreshold, _ = d.intIn(v, "healthy_threshold", 1, 10) }),
		opt("unhealthy_threshold", func(v *node) { hc.UnhealthyThreshold, _ = d.intIn(v, "unhealthy_threshold", 1, 10) }),
		opt("matcher", func(v *node) {
			if s, ok := d.str(v, "matcher"); ok {
				if err := checkMatcher(s); err != nil {
					d.errorf(v.pos, "matcher: %v", err)
				}
				hc.Matcher = s
			}
		}),
	)
	if !timeoutSet {
		hc.Timeout = min(hc.Timeout, hc.Interval/2)
	}
	if hc.Timeout >= hc.Interval {
		d.errorf(d.at(&hc, "timeout", n.pos), "timeout: %s must be less than the interval (%s)", hc.Timeout.D(), hc.Interval.D())
	}
	return hc
}

// checkMatcher follows an ALB matcher: codes 200-499, as "200", "200,204" or "200-299".
func checkMatcher(s string) error {
	const hint = `(write a code like "200", a list like "200,204", or a range like "200-299"; codes 200 to 499)`
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("must not be empty %s", hint)
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, errA := strconv.Atoi(lo)
		b, errB := a, error(nil)
		if isRange {
			b, errB = strconv.Atoi(hi)
		}
		if errA != nil || errB != nil || a < 200 || b > 499 || a > b {
			return fmt.Errorf("invalid %q %s", clip(part), hint)
		}
	}
	return nil
}

func (d *decoder) process(n *node) ProcessConfig {
	pc := ProcessConfig{Pos: n.pos}
	d.object(n, "process", &pc,
		req("command", func(v *node) {
			pc.Command = d.strings(v, "command", nil)
			if v.kind == kindSeq && len(v.items) == 0 {
				d.errorf(v.pos, "command: must name a program to run")
			}
		}),
	)
	return pc
}

// validateListeners rejects two listeners on one address; a wildcard host
// (0.0.0.0, ::, empty) takes its port on every address.
func (d *decoder) validateListeners(def *Definition) {
	type listener struct {
		host, port, owner string
		pos               Pos
	}
	var seen []listener
	for _, name := range slices.Sorted(maps.Keys(def.Services)) {
		s := def.Services[name]
		for _, kind := range []string{"production", "test"} {
			addr := s.Listeners.Production
			if kind == "test" {
				addr = s.Listeners.Test
			}
			host, port, err := net.SplitHostPort(addr)
			if addr == "" || err != nil {
				continue
			}
			l := listener{host: strings.ToLower(host), port: port, owner: fmt.Sprintf("service %q %s listener", name, kind), pos: d.at(&s.Listeners, kind, s.Pos)}
			i := slices.IndexFunc(seen, func(o listener) bool {
				return o.port == l.port && (o.host == l.host || isWildcard(o.host) || isWildcard(l.host))
			})
			if i >= 0 {
				d.errorf(l.pos, "%s: %s is already taken by the %s (line %d)", kind, addr, seen[i].owner, seen[i].pos.Line)
				continue
			}
			seen = append(seen, l)
		}
	}
}

func isWildcard(host string) bool { return host == "" || host == "0.0.0.0" || host == "::" }
