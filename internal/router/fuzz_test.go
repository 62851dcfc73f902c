package router

import (
	"encoding/json"
	"testing"
)

func FuzzParseMatcher(f *testing.F) {
	for _, s := range []string{"200", "200,202", "200-299", " 200 , 300-302 ", "2xx", "", "-", "200-100", "599-599,100"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMatcher(s)
		if err != nil {
			if m != nil {
				t.Fatalf("ParseMatcher(%q) returned a matcher with error %v", s, err)
			}
			return
		}
		if len(m) == 0 {
			t.Fatalf("ParseMatcher(%q) accepted an empty matcher", s)
		}
		for _, r := range m {
			if r.lo < 100 || r.hi > 599 || r.lo > r.hi {
				t.Fatalf("ParseMatcher(%q) produced range %d-%d", s, r.lo, r.hi)
			}
			if !m.Match(r.lo) || !m.Match(r.hi) {
				t.Fatalf("ParseMatcher(%q) does not match its own bounds %d-%d", s, r.lo, r.hi)
			}
		}
	})
}

// FuzzServiceSpecJSON feeds the agent's wire form through the same path Apply
// takes: decode, normalize, validate. Nothing may panic, and a spec that passes
// must be one the router can route.
func FuzzServiceSpecJSON(f *testing.F) {
	f.Add(`{"name":"orders","production_listener":"127.0.0.1:8080","health_check":{"path":"/health","interval":"5s","timeout":"2s","healthy_threshold":2,"unhealthy_threshold":2,"matcher":"200-299"},"deregistration_delay":"30s","target_groups":[{"name":"orders-1","targets":[{"id":"t1","address":"127.0.0.1:9001"}]},{"name":"orders-2"}],"production_weights":{"orders-1":100}}`)
	f.Add(`{"name":"x","production_listener":":0","target_groups":[{"name":"a","load_balancing":"least_outstanding_requests"}],"production_weights":{"a":0},"test_target_group":"a","test_listener":":0"}`)
	f.Add(`{"deregistration_delay":"-5s"}`)
	f.Add(`{"name":"w","production_listener":"127.0.0.1:0","listeners":{"production":{"protocol":"HTTPS","certificates":[{"cert_file":"a","key_file":"b"}],"redirect_http":"127.0.0.1:0","hsts":{"max_age":"1h","include_subdomains":true},"max_request_body":10}},"target_groups":[{"name":"a"}]}`)
	f.Add(`{"name":"w","production_listener":"127.0.0.1:0","listeners":{"production":{"protocol":"HTTPS","acme":{"domains":["a.example.com"],"cache_dir":"c"}},"test":{"h2c":true}},"target_groups":[{"name":"a"}]}`)
	f.Add(`{"name":"w","production_listener":"127.0.0.1:0","listeners":{"production":{"protocol":"SPDY","max_request_body":-1}},"target_groups":[{"name":"a"}]}`)
	f.Fuzz(func(t *testing.T, data string) {
		var spec ServiceSpec
		if err := json.Unmarshal([]byte(data), &spec); err != nil {
			return
		}
		spec = Normalize(spec)
		if err := Validate(spec); err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if _, err := newHealthConfig(spec.HealthCheck); err != nil {
			t.Fatalf("valid spec with a bad matcher: %v", err)
		}
		sum := 0
		for _, w := range spec.ProductionWeights {
			sum += w
		}
		if sum != 0 && sum != 100 {
			t.Fatalf("valid spec with weights summing to %d", sum)
		}
		if spec.HealthCheck.Timeout >= spec.HealthCheck.Interval {
			t.Fatal("valid spec with timeout >= interval")
		}
		for _, l := range []ListenerSpec{spec.Listeners.Production, spec.Listeners.Test} {
			if l.IsHTTPS() && len(l.Certificates) == 0 && l.ACME == nil || l.MaxRequestBody < 0 {
				t.Fatalf("valid spec with a listener that cannot serve: %+v", l)
			}
		}
	})
}
