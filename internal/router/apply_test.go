package router

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/testnet"
)

func TestListenerRebinding(t *testing.T) {
	r := newTestRouter(t)
	b := startBackend(t, "b")
	spec := twoGroupSpec("rebind", []TargetSpec{b.target("b1")}, nil)
	spec.DeregistrationDelay = Duration(0)
	st := mustApply(t, r, spec)
	waitState(t, r, "rebind", "b1", TargetHealthy)
	oldAddr := st.ProductionAddress

	// Same spec again: the listener stays, same address, version moves on.
	again := mustApply(t, r, spec)
	if again.ProductionAddress != oldAddr || again.Version != st.Version+1 {
		t.Fatalf("reapply: address %s version %d, want %s and %d", again.ProductionAddress, again.Version, oldAddr, st.Version+1)
	}

	if code, _ := get(t, newClient(), "http://"+oldAddr+"/"); code != 200 {
		t.Fatalf("old listener: %d", code)
	}
	moved := testnet.FreeAddr(t)
	spec.ProductionListener = moved
	st = mustApply(t, r, spec)
	if st.ProductionAddress != moved {
		t.Fatalf("bound %s, want %s", st.ProductionAddress, moved)
	}
	if code, who := get(t, newClient(), "http://"+moved+"/"); code != 200 || who != "b" {
		t.Fatalf("new listener: %d from %q", code, who)
	}
	eventually(t, 15*time.Second, "the old listener to close", func() bool {
		_, err := newClient().Get("http://" + oldAddr + "/")
		return isConnRefused(err)
	})
}

func TestApplyErrorsLeaveOldSpecServing(t *testing.T) {
	r := newTestRouter(t)
	blue, green := startBackend(t, "blue"), startBackend(t, "green")
	spec := twoGroupSpec("keep", []TargetSpec{blue.target("b1")}, []TargetSpec{green.target("g1")})
	before := mustApply(t, r, spec)
	waitState(t, r, "keep", "b1", TargetHealthy)
	url := "http://" + before.ProductionAddress + "/"

	bad := spec
	bad.ProductionWeights = map[string]int{"blue": 60, "green": 60}
	_, err := r.Apply(bad)
	var se *SpecError
	if !errors.Is(err, ErrInvalidSpec) || !errors.As(err, &se) || !strings.Contains(err.Error(), "sum to 120") {
		t.Fatalf("bad weights: %v, want a SpecError about the sum", err)
	}

	// An address in use: the whole change is refused, the old listener stays.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	moved := spec
	moved.ProductionListener = busy.Addr().String()
	moved.ProductionWeights = map[string]int{"green": 100}
	if _, err := r.Apply(moved); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("port in use: %v, want EADDRINUSE", err)
	}
	// A test listener in use while the production one is new: nothing stays bound.
	both := spec
	both.ProductionListener = testnet.FreeAddr(t)
	both.TestListener = busy.Addr().String()
	if _, err := r.Apply(both); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("test port in use: %v, want EADDRINUSE", err)
	}
	if l, err := net.Listen("tcp", both.ProductionListener); err != nil {
		t.Fatalf("a failed apply left %s bound: %v", both.ProductionListener, err)
	} else {
		l.Close()
	}

	after, _ := r.Status("keep")
	if after.Version != before.Version || after.ProductionAddress != before.ProductionAddress {
		t.Fatalf("status changed by failed applies: version %d -> %d", before.Version, after.Version)
	}
	for range 10 {
		if code, who := get(t, newClient(), url); code != http.StatusOK || who != "blue" {
			t.Fatalf("after failed applies: %d from %q, want 200 from blue", code, who)
		}
	}
}

func TestTwoServicesCannotShareAnAddress(t *testing.T) {
	r := newTestRouter(t)
	a := mustApply(t, r, twoGroupSpec("a", nil, nil))
	spec := twoGroupSpec("b", nil, nil)
	spec.ProductionListener = a.ProductionAddress
	if _, err := r.Apply(spec); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second service on %s: %v, want EADDRINUSE", a.ProductionAddress, err)
	}
	if _, ok := r.Status("b"); ok {
		t.Fatal("failed service has a status")
	}
	if got := r.Services(); len(got) != 1 || got[0].Spec.Name != "a" {
		t.Fatalf("services = %+v, want only a", got)
	}
}

func TestCloseDrainsAndRefusesApply(t *testing.T) {
	r := New(Options{Logger: testLogger(t)})
	b := startBackend(t, "b")
	st := mustApply(t, r, twoGroupSpec("c", []TargetSpec{b.target("b1")}, nil))
	waitState(t, r, "c", "b1", TargetHealthy)
	result := requestInFlight(t, r, "http://"+st.ProductionAddress+"/sleep/500ms", "c", "b1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if code := <-result; code != http.StatusOK {
		t.Fatalf("in-flight request during Close: %d, want 200", code)
	}
	if _, err := r.Apply(twoGroupSpec("d", nil, nil)); !errors.Is(err, ErrClosed) {
		t.Fatalf("apply after close: %v, want ErrClosed", err)
	}
}

func TestValidate(t *testing.T) {
	valid := func() ServiceSpec {
		s := twoGroupSpec("orders", []TargetSpec{{ID: "t1", Address: "127.0.0.1:9000"}}, nil)
		s.ProductionListener = "127.0.0.1:8080"
		return Normalize(s)
	}
	if err := Validate(valid()); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	cases := []struct {
		name   string
		change func(*ServiceSpec)
		want   string
	}{
		{"bad name", func(s *ServiceSpec) { s.Name = "has space" }, `name "has space"`},
		{"no listener", func(s *ServiceSpec) { s.ProductionListener = "" }, "production_listener: missing"},
		{"bad listener", func(s *ServiceSpec) { s.ProductionListener = "localhost" }, `production_listener "localhost": want host:port`},
		{"bad port", func(s *ServiceSpec) { s.TestListener = "127.0.0.1:99999" }, "want a number 0..65535"},
		{"same listeners", func(s *ServiceSpec) { s.TestListener = s.ProductionListener }, "must differ"},
		{"weights over", func(s *ServiceSpec) { s.ProductionWeights = map[string]int{"blue": 101, "green": -1} }, `production_weights["blue"] 101: want 0..100`},
		{"weights sum", func(s *ServiceSpec) { s.ProductionWeights = map[string]int{"blue": 50} }, "sum to 50; want 100"},
		{"unknown weight group", func(s *ServiceSpec) { s.ProductionWeights = map[string]int{"red": 100} }, `"red" is not a target group; want one of "blue", "green"`},
		{"unknown test group", func(s *ServiceSpec) { s.TestTargetGroup = "red" }, `test_target_group "red": no such target group`},
		{"matcher", func(s *ServiceSpec) { s.HealthCheck.Matcher = "2xx" }, `health_check.matcher "2xx"`},
		{"healthy threshold", func(s *ServiceSpec) { s.HealthCheck.HealthyThreshold = 11 }, "healthy_threshold 11: want 1..10"},
		{"unhealthy threshold", func(s *ServiceSpec) { s.HealthCheck.UnhealthyThreshold = -1 }, "unhealthy_threshold -1: want 1..10"},
		{"timeout", func(s *ServiceSpec) { s.HealthCheck.Timeout = s.HealthCheck.Interval }, "shorter than health_check.interval"},
		{"path", func(s *ServiceSpec) { s.HealthCheck.Path = "health" }, `health_check.path "health": must start with "/"`},
		{"delay", func(s *ServiceSpec) { s.DeregistrationDelay = Duration(2 * time.Hour) }, "deregistration_delay 2h0m0s"},
		{"no groups", func(s *ServiceSpec) { s.TargetGroups = nil; s.ProductionWeights = nil }, "0 groups; want 1 or 2"},
		{"duplicate group", func(s *ServiceSpec) { s.TargetGroups[1].Name = "blue" }, "duplicate target group name"},
		{"algorithm", func(s *ServiceSpec) { s.TargetGroups[0].LoadBalancing = "random" }, `load_balancing "random": want "round_robin"`},
		{"target id", func(s *ServiceSpec) { s.TargetGroups[0].Targets[0].ID = "" }, `targets[0].id ""`},
		{"duplicate target", func(s *ServiceSpec) {
			s.TargetGroups[0].Targets = append(s.TargetGroups[0].Targets, s.TargetGroups[0].Targets[0])
		}, "duplicate target id"},
		{"target address", func(s *ServiceSpec) { s.TargetGroups[0].Targets[0].Address = "127.0.0.1:0" }, "want a number 1..65535"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := valid()
			c.change(&s)
			err := Validate(s)
			if err == nil || !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate = %v, want an ErrInvalidSpec containing %q", err, c.want)
			}
		})
	}
}

func TestNormalizeFillsALBDefaults(t *testing.T) {
	s := Normalize(ServiceSpec{TargetGroups: []TargetGroupSpec{{Name: "a"}}})
	hc := s.HealthCheck
	if hc.Path != "/" || hc.Interval.D() != 30*time.Second || hc.Timeout.D() != 5*time.Second ||
		hc.HealthyThreshold != 5 || hc.UnhealthyThreshold != 2 || hc.Matcher != "200" {
		t.Fatalf("defaults = %+v", hc)
	}
	if s.TargetGroups[0].LoadBalancing != LoadBalancingRoundRobin {
		t.Fatalf("load balancing default %q", s.TargetGroups[0].LoadBalancing)
	}
}

func TestParseMatcher(t *testing.T) {
	cases := []struct {
		in       string
		match    []int
		mismatch []int
	}{
		{"200", []int{200}, []int{201, 500}},
		{"200,202", []int{200, 202}, []int{201}},
		{"200-299", []int{200, 250, 299}, []int{199, 300}},
		{" 200 , 300-302 ", []int{200, 301}, []int{303}},
	}
	for _, c := range cases {
		m, err := ParseMatcher(c.in)
		if err != nil {
			t.Fatalf("ParseMatcher(%q): %v", c.in, err)
		}
		for _, code := range c.match {
			if !m.Match(code) {
				t.Errorf("%q should match %d", c.in, code)
			}
		}
		for _, code := range c.mismatch {
			if m.Match(code) {
				t.Errorf("%q should not match %d", c.in, code)
			}
		}
	}
	for _, bad := range []string{"", "2xx", "200-", "299-200", "99", "600", "200,,201", "1000"} {
		if _, err := ParseMatcher(bad); err == nil {
			t.Errorf("ParseMatcher(%q) accepted", bad)
		}
	}
}
