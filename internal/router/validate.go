package router

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidSpec is wrapped by every spec validation error (errors.Is).
var ErrInvalidSpec = errors.New("invalid service spec")

// SpecError lists everything wrong with a spec, one problem per entry, each naming
// the field (as in the JSON form), the bad value and what is allowed.
type SpecError struct {
	Service  string
	Problems []string
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("%s %q: %s", ErrInvalidSpec, e.Service, strings.Join(e.Problems, "; "))
}

func (e *SpecError) Unwrap() error { return ErrInvalidSpec }

// Health check defaults for zero fields: an ALB target group's defaults.
const (
	DefaultHealthCheckPath          = "/"
	DefaultHealthCheckInterval      = 30 * time.Second
	DefaultHealthCheckTimeout       = 5 * time.Second
	DefaultHealthyThreshold         = 5
	DefaultUnhealthyThreshold       = 2
	DefaultHealthCheckMatcher       = "200"
	maxDeregistrationDelay          = time.Hour
	maxThreshold                    = 10
	LoadBalancingRoundRobin         = "round_robin"
	LoadBalancingLeastOutstanding   = "least_outstanding_requests"
	allowedLoadBalancingDescription = `"round_robin" (default) or "least_outstanding_requests"`
)

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

const nameRule = "1-128 letters, digits, '.', '_' or '-', starting with a letter or digit"

// Normalize returns a deep copy of spec with defaults filled in for zero health
// check fields and load balancing algorithms. It does not validate.
func Normalize(spec ServiceSpec) ServiceSpec {
	spec.ProductionWeights = maps.Clone(spec.ProductionWeights)
	spec.Listeners.Production = spec.Listeners.Production.Normalized()
	spec.Listeners.Test = spec.Listeners.Test.Normalized()
	hc := &spec.HealthCheck
	if hc.Path == "" {
		hc.Path = DefaultHealthCheckPath
	}
	if hc.Interval == 0 {
		hc.Interval = Duration(DefaultHealthCheckInterval)
	}
	if hc.Timeout == 0 {
		hc.Timeout = Duration(min(DefaultHealthCheckTimeout, hc.Interval.D()/2))
	}
	if hc.HealthyThreshold == 0 {
		hc.HealthyThreshold = DefaultHealthyThreshold
	}
	if hc.UnhealthyThreshold == 0 {
		hc.UnhealthyThreshold = DefaultUnhealthyThreshold
	}
	if hc.Matcher == "" {
		hc.Matcher = DefaultHealthCheckMatcher
	}
	groups := make([]TargetGroupSpec, len(spec.TargetGroups))
	for i, g := range spec.TargetGroups {
		g.Targets = slices.Clone(g.Targets)
		if g.LoadBalancing == "" {
			g.LoadBalancing = LoadBalancingRoundRobin
		}
		groups[i] = g
	}
	spec.TargetGroups = groups
	return spec
}

// Validate checks a normalized spec and returns a *SpecError listing every problem.
func Validate(spec ServiceSpec) error {
	v := &validator{}
	if !namePattern.MatchString(spec.Name) {
		v.addf("name %q: want %s", spec.Name, nameRule)
	}
	v.listener("production_listener", spec.ProductionListener, true)
	v.listener("test_listener", spec.TestListener, false)
	if spec.TestListener != "" && spec.TestListener == spec.ProductionListener && !strings.HasSuffix(spec.TestListener, ":0") {
		v.addf("test_listener %q: must differ from production_listener", spec.TestListener)
	}
	v.listenerSpec("listeners.production", spec.Listeners.Production, spec)
	if spec.TestListener != "" {
		v.listenerSpec("listeners.test", spec.Listeners.Test, spec)
	} else if !isZeroListener(spec.Listeners.Test) {
		v.addf("listeners.test: options for a test listener the spec does not have (test_listener is empty)")
	}
	v.healthCheck(spec.HealthCheck)
	if d := spec.DeregistrationDelay.D(); d < 0 || d > maxDeregistrationDelay {
		v.addf("deregistration_delay %s: want 0s..%s", d, maxDeregistrationDelay)
	}
	groups := v.targetGroups(spec.TargetGroups)
	v.weights(spec.ProductionWeights, groups)
	if spec.TestTargetGroup != "" && !groups[spec.TestTargetGroup] {
		v.addf("test_target_group %q: no such target group; want one of %s or empty", spec.TestTargetGroup, quotedKeys(groups))
	}
	if len(v.problems) > 0 {
		return &SpecError{Service: spec.Name, Problems: v.problems}
	}
	return nil
}

type validator struct{ problems []string }

func (v *validator) addf(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

func (v *validator) listener(field, addr string, required bool) {
	if addr == "" {
		if required {
			v.addf("%s: missing; want host:port, e.g. 127.0.0.1:8080", field)
		}
		return
	}
	if err := checkHostPort(addr, 0); err != nil {
		v.addf("%s %q: %v", field, addr, err)
	}
}

// checkHostPort accepts "host:port" with a numeric port minPort..65535.
func checkHostPort(addr string, minPort int) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port, e.g. 127.0.0.1:8080")
	}
	if host == "" && minPort > 0 {
		return fmt.Errorf("missing host; want host:port, e.g. 127.0.0.1:8080")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < minPort || n > 65535 {
		return fmt.Errorf("port %q: want a number %d..65535", port, minPort)
	}
	return nil
}

func (v *validator) healthCheck(hc HealthCheck) {
	if !strings.HasPrefix(hc.Path, "/") {
		v.addf("health_check.path %q: must start with \"/\"", hc.Path)
	}
	if hc.Interval.D() <= 0 {
		v.addf("health_check.interval %s: must be positive", hc.Interval.D())
	}
	if hc.Timeout.D() <= 0 || hc.Timeout.D() >= hc.Interval.D() {
		v.addf("health_check.timeout %s: must be positive and shorter than health_check.interval %s", hc.Timeout.D(), hc.Interval.D())
	}
	if hc.HealthyThreshold < 1 || hc.HealthyThreshold > maxThreshold {
		v.addf("health_check.healthy_threshold %d: want 1..%d", hc.HealthyThreshold, maxThreshold)
	}
	if hc.UnhealthyThreshold < 1 || hc.UnhealthyThreshold > maxThreshold {
		v.addf("health_check.unhealthy_threshold %d: want 1..%d", hc.UnhealthyThreshold, maxThreshold)
	}
	if _, err := ParseMatcher(hc.Matcher); err != nil {
		v.addf("health_check.%v", err)
	}
}

// targetGroups validates the groups and returns the set of their names.
func (v *validator) targetGroups(groups []TargetGroupSpec) map[string]bool {
	names := map[string]bool{}
	if len(groups) < 1 || len(groups) > 2 {
		v.addf("target_groups: %d groups; want 1 or 2", len(groups))
	}
	for i, g := range groups {
		field := fmt.Sprintf("target_groups[%d]", i)
		switch {
		case !namePattern.MatchString(g.Name):
			v.addf("%s.name %q: want %s", field, g.Name, nameRule)
		case names[g.Name]:
			v.addf("%s.name %q: duplicate target group name", field, g.Name)
		}
		names[g.Name] = true
		if g.LoadBalancing != LoadBalancingRoundRobin && g.LoadBalancing != LoadBalancingLeastOutstanding {
			v.addf("%s.load_balancing %q: want %s", field, g.LoadBalancing, allowedLoadBalancingDescription)
		}
		v.targets(field, g.Targets)
	}
	return names
}

func (v *validator) targets(groupField string, targets []TargetSpec) {
	ids := map[string]bool{}
	for j, t := range targets {
		field := fmt.Sprintf("%s.targets[%d]", groupField, j)
		switch {
		case !namePattern.MatchString(t.ID):
			v.addf("%s.id %q: want %s", field, t.ID, nameRule)
		case ids[t.ID]:
			v.addf("%s.id %q: duplicate target id in the group", field, t.ID)
		}
		ids[t.ID] = true
		if err := checkHostPort(t.Address, 1); err != nil {
			v.addf("%s.address %q: %v", field, t.Address, err)
		}
	}
}

func (v *validator) weights(weights map[string]int, groups map[string]bool) {
	sum := 0
	for name, w := range weights {
		if !groups[name] {
			v.addf("production_weights: %q is not a target group; want one of %s", name, quotedKeys(groups))
		}
		if w < 0 || w > 100 {
			v.addf("production_weights[%q] %d: want 0..100", name, w)
		}
		sum += w
	}
	if sum != 0 && sum != 100 {
		v.addf("production_weights: weights sum to %d; want 100 (or no weights: production answers 503)", sum)
	}
}

func quotedKeys(set map[string]bool) string {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, strconv.Quote(k))
	}
	if len(keys) == 0 {
		return "(none defined)"
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

func isZeroListener(l ListenerSpec) bool {
	return l.Protocol == ProtocolHTTP && len(l.Certificates) == 0 && l.ACME == nil && l.RedirectHTTP == "" &&
		l.HSTS == nil && !l.H2C && l.MaxRequestBody == 0
}

// listenerSpec checks one listener's options.
func (v *validator) listenerSpec(field string, l ListenerSpec, spec ServiceSpec) {
	switch l.Protocol {
	case ProtocolHTTP:
		for _, o := range []struct {
			name string
			set  bool
		}{{"certificates", len(l.Certificates) > 0}, {"acme", l.ACME != nil}, {"redirect_http", l.RedirectHTTP != ""}, {"hsts", l.HSTS != nil}} {
			if o.set {
				v.addf("%s.%s: only for protocol %q", field, o.name, ProtocolHTTPS)
			}
		}
	case ProtocolHTTPS:
		v.httpsSpec(field, l, spec)
	default:
		v.addf("%s.protocol %q: want %q or %q", field, l.Protocol, ProtocolHTTP, ProtocolHTTPS)
	}
	if l.MaxRequestBody < 0 {
		v.addf("%s.max_request_body %d: want 0 (no limit) or more", field, l.MaxRequestBody)
	}
}

func (v *validator) httpsSpec(field string, l ListenerSpec, spec ServiceSpec) {
	if len(l.Certificates) == 0 && l.ACME == nil {
		v.addf("%s: protocol HTTPS needs certificates or acme", field)
	}
	if l.H2C {
		v.addf("%s.h2c: only for protocol %q (HTTPS negotiates HTTP/2 by ALPN)", field, ProtocolHTTP)
	}
	for i, c := range l.Certificates {
		if c.CertFile == "" || c.KeyFile == "" {
			v.addf("%s.certificates[%d]: want both cert_file and key_file", field, i)
		}
	}
	if a := l.ACME; a != nil {
		if len(a.Domains) == 0 {
			v.addf("%s.acme.domains: want at least one domain name", field)
		}
		if a.CacheDir == "" {
			v.addf("%s.acme.cache_dir: missing; want a directory for the account key and certificates", field)
		}
	}
	if r := l.RedirectHTTP; r != "" {
		if err := checkHostPort(r, 0); err != nil {
			v.addf("%s.redirect_http %q: %v", field, r, err)
		}
		if r == spec.ProductionListener || r == spec.TestListener {
			v.addf("%s.redirect_http %q: must differ from the listener addresses", field, r)
		}
	}
	if l.HSTS != nil && l.HSTS.MaxAge.D() < 0 {
		v.addf("%s.hsts.max_age %s: must not be negative", field, l.HSTS.MaxAge.D())
	}
}
