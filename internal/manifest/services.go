package manifest

import (
	"fmt"
	"maps"
	"math"
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
	d.object(n, "listeners", l,
		req("production", func(v *node) { l.Production = d.listener(v, "production", &l.ProductionOptions) }),
		opt("test", func(v *node) { l.Test = d.listener(v, "test", &l.TestOptions) }),
	)
}

// listener decodes a listener: an address ("127.0.0.1:8080", plain HTTP), or
// a mapping with the address and the listener's options.
func (d *decoder) listener(n *node, key string, opts *Listener) string {
	*opts = Listener{Protocol: ProtocolHTTP, Pos: n.pos}
	if n.kind != kindMap {
		return d.address(n, key)
	}
	addr := ""
	d.object(n, key+" listener", opts,
		req("address", func(v *node) { addr = d.address(v, "address") }),
		opt("protocol", func(v *node) { opts.Protocol, _ = d.enum(v, "protocol", ProtocolHTTP, ProtocolHTTPS) }),
		opt("certificates", func(v *node) { opts.Certificates = d.certificates(v) }),
		opt("acme", func(v *node) { opts.ACME = d.acme(v) }),
		opt("redirect_http", func(v *node) { opts.RedirectHTTP = d.address(v, "redirect_http") }),
		opt("hsts", func(v *node) { opts.HSTS = d.hsts(v) }),
		opt("h2c", func(v *node) { opts.H2C, _ = d.boolean(v, "h2c") }),
		opt("max_request_body", func(v *node) { opts.MaxRequestBody, _ = d.size(v, "max_request_body") }),
	)
	d.checkListener(n, key, addr, opts)
	return addr
}

// address decodes a host:port address; "" when it is not one.
func (d *decoder) address(v *node, key string) string {
	s, ok := d.name(v, key)
	if ok && d.checkAddress(v, key, s) {
		return s
	}
	return ""
}

func (d *decoder) certificates(n *node) []Certificate {
	var out []Certificate
	d.list(n, "certificates", func(i int, v *node) {
		c := Certificate{Pos: v.pos}
		d.object(v, fmt.Sprintf("certificates[%d]", i), &c,
			req("cert_file", func(v *node) { c.CertFile, _ = d.name(v, "cert_file") }),
			req("key_file", func(v *node) { c.KeyFile, _ = d.name(v, "key_file") }),
		)
		out = append(out, c)
	})
	if n.kind == kindSeq && len(n.items) == 0 {
		d.errorf(n.pos, "certificates: want at least one {cert_file, key_file}")
	}
	return out
}

func (d *decoder) acme(n *node) *ACME {
	a := &ACME{}
	d.object(n, "acme", a,
		req("domains", func(v *node) {
			a.Domains = d.strings(v, "domains", a)
			for i, dom := range a.Domains {
				if !isHostname(dom) || !strings.Contains(dom, ".") {
					d.errorf(d.at(a, fmt.Sprintf("domains[%d]", i), v.pos), "domains: %q is not a public host name (like www.example.com)", clip(dom))
				}
			}
			if v.kind == kindSeq && len(v.items) == 0 {
				d.errorf(v.pos, "domains: want at least one host name")
			}
		}),
		opt("email", func(v *node) { a.Email, _ = d.name(v, "email") }),
		opt("directory_url", func(v *node) {
			if s, ok := d.name(v, "directory_url"); ok {
				if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
					d.errorf(v.pos, "directory_url: %q is not an http(s) URL", clip(s))
				}
				a.DirectoryURL = s
			}
		}),
		opt("cache_dir", func(v *node) { a.CacheDir, _ = d.name(v, "cache_dir") }),
		opt("ca_file", func(v *node) { a.CAFile, _ = d.name(v, "ca_file") }),
	)
	return a
}

func (d *decoder) hsts(n *node) *HSTS {
	h := &HSTS{MaxAge: Duration(365 * 24 * time.Hour)}
	d.object(n, "hsts", h,
		opt("max_age", func(v *node) { h.MaxAge, _ = d.durationIn(v, "max_age", 0, 2*365*24*time.Hour) }),
		opt("include_subdomains", func(v *node) { h.IncludeSubdomains, _ = d.boolean(v, "include_subdomains") }),
		opt("preload", func(v *node) { h.Preload, _ = d.boolean(v, "preload") }),
	)
	return h
}

// checkListener checks the options that depend on each other.
func (d *decoder) checkListener(n *node, key, addr string, l *Listener) {
	if l.Protocol == ProtocolHTTPS {
		if len(l.Certificates) == 0 && l.ACME == nil {
			d.errorf(d.at(l, "protocol", n.pos), "%s: protocol HTTPS needs certificates or acme", key)
		}
		if l.H2C {
			d.errorf(d.at(l, "h2c", n.pos), "h2c: only for protocol HTTP (HTTPS negotiates HTTP/2 by ALPN)")
		}
		if l.RedirectHTTP != "" && l.RedirectHTTP == addr {
			d.errorf(d.at(l, "redirect_http", n.pos), "redirect_http: %s is the listener's own address", addr)
		}
		return
	}
	for _, k := range []string{"certificates", "acme", "redirect_http", "hsts"} {
		if p, ok := d.where[posKey{l, k}]; ok {
			d.errorf(p, "%s: only for protocol HTTPS (add protocol: HTTPS)", k)
		}
	}
}

// size decodes a byte count: an integer, or a number with a unit (KB, MB, GB,
// KiB, MiB, GiB).
func (d *decoder) size(n *node, what string) (int64, bool) {
	if n.kind == kindInt {
		if n.i < 0 {
			d.errorf(n.pos, "%s: %d must not be negative", what, n.i)
			return 0, false
		}
		return n.i, true
	}
	s, ok := d.str(n, what)
	if !ok {
		return 0, false
	}
	v, ok := parseSize(s)
	if !ok {
		d.errorf(n.pos, "%s: invalid size %q (write bytes, or a number with KB, MB, GB, KiB, MiB or GiB)", what, clip(s))
	}
	return v, ok
}

var sizeUnits = []struct {
	suffix string
	factor int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}

func parseSize(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	factor := int64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, factor = strings.TrimSpace(rest), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/factor {
		return 0, false
	}
	return n * factor, true
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

// validateListeners rejects two listeners (or redirect listeners) on one
// address; a wildcard host (0.0.0.0, ::, empty) takes its port on every
// address.
func (d *decoder) validateListeners(def *Definition) {
	var seen []boundAddress
	for _, name := range slices.Sorted(maps.Keys(def.Services)) {
		for _, b := range d.serviceAddresses(name, def.Services[name]) {
			host, port, err := net.SplitHostPort(b.addr)
			if b.addr == "" || err != nil {
				continue
			}
			b.host, b.port = strings.ToLower(host), port
			i := slices.IndexFunc(seen, func(o boundAddress) bool {
				return o.port == b.port && (o.host == b.host || isWildcard(o.host) || isWildcard(b.host))
			})
			if i >= 0 {
				d.errorf(b.pos, "%s: %s is already taken by the %s (line %d)", b.key, b.addr, seen[i].owner, seen[i].pos.Line)
				continue
			}
			seen = append(seen, b)
		}
	}
}

// boundAddress is one address a service's listeners bind.
type boundAddress struct {
	addr, key, owner, host, port string
	pos                          Pos
}

func (d *decoder) serviceAddresses(name string, s *Service) []boundAddress {
	l := &s.Listeners
	out := []boundAddress{
		{addr: l.Production, key: "production", owner: fmt.Sprintf("service %q production listener", name), pos: d.at(l, "production", s.Pos)},
		{addr: l.Test, key: "test", owner: fmt.Sprintf("service %q test listener", name), pos: d.at(l, "test", s.Pos)},
	}
	for _, o := range []struct {
		kind string
		opts *Listener
	}{{"production", &l.ProductionOptions}, {"test", &l.TestOptions}} {
		if o.opts.RedirectHTTP != "" {
			out = append(out, boundAddress{addr: o.opts.RedirectHTTP, key: "redirect_http",
				owner: fmt.Sprintf("service %q %s listener's redirect_http", name, o.kind), pos: d.at(o.opts, "redirect_http", s.Pos)})
		}
	}
	return out
}

func isWildcard(host string) bool { return host == "" || host == "0.0.0.0" || host == "::" }
