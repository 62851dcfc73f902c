package config

import (
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want Config
	}{
		{"defaults", nil, Config{Port: DefaultPort}},
		{"blank values mean default", map[string]string{"PORT": " ", "FAIL_RATE": "", "LATENCY_MS": ""}, Config{Port: DefaultPort}},
		{"everything set", map[string]string{"HOST": "127.0.0.1", "PORT": "8080", "FAIL_RATE": "0.5", "LATENCY_MS": "250"},
			Config{Host: "127.0.0.1", Port: 8080, FailRate: 0.5, Latency: 250 * time.Millisecond}},
		{"port zero picks a free port", map[string]string{"PORT": "0"}, Config{Port: 0}},
		{"bounds", map[string]string{"PORT": "65535", "FAIL_RATE": "1", "LATENCY_MS": "60000"},
			Config{Port: 65535, FailRate: 1, Latency: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromEnv(env(tt.vars))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("FromEnv = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFromEnvRejects(t *testing.T) {
	tests := []struct {
		vars map[string]string
		want []string // every line of the error
	}{
		{map[string]string{"FAIL_RATE": "1.5"}, []string{`FAIL_RATE="1.5": must be a number from 0 to 1 (0.5 fails half of the /orders requests)`}},
		{map[string]string{"FAIL_RATE": "-0.1"}, []string{`FAIL_RATE="-0.1": must be a number from 0 to 1 (0.5 fails half of the /orders requests)`}},
		{map[string]string{"FAIL_RATE": "NaN"}, []string{`FAIL_RATE="NaN": must be a number from 0 to 1 (0.5 fails half of the /orders requests)`}},
		{map[string]string{"FAIL_RATE": "half"}, []string{`FAIL_RATE="half": must be a number from 0 to 1 (0.5 fails half of the /orders requests)`}},
		{map[string]string{"LATENCY_MS": "1.5"}, []string{`LATENCY_MS="1.5": must be an integer number of milliseconds from 0 to 60000`}},
		{map[string]string{"LATENCY_MS": "60001"}, []string{`LATENCY_MS="60001": must be an integer number of milliseconds from 0 to 60000`}},
		{map[string]string{"PORT": "http"}, []string{`PORT="http": must be an integer from 0 to 65535`}},
		{map[string]string{"PORT": "70000", "FAIL_RATE": "2", "LATENCY_MS": "-1"}, []string{
			`PORT="70000": must be an integer from 0 to 65535`,
			`FAIL_RATE="2": must be a number from 0 to 1 (0.5 fails half of the /orders requests)`,
			`LATENCY_MS="-1": must be an integer number of milliseconds from 0 to 60000`,
		}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.want, "|"), func(t *testing.T) {
			_, err := FromEnv(env(tt.vars))
			if err == nil {
				t.Fatal("FromEnv accepted a bad value")
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("error lines:\n%s\nwant:\n%s", err, strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestAddr(t *testing.T) {
	if got := (Config{Port: 3000}).Addr(); got != ":3000" {
		t.Errorf("Addr = %q", got)
	}
	if got := (Config{Host: "::1", Port: 80}).Addr(); got != "[::1]:80" {
		t.Errorf("Addr = %q", got)
	}
}

func FuzzFromEnv(f *testing.F) {
	f.Add("3000", "0.5", "100")
	f.Add("", "1e-3", "0")
	f.Add("-1", "Inf", "9999999999999999999")
	f.Fuzz(func(t *testing.T, port, rate, latency string) {
		c, err := FromEnv(env(map[string]string{"PORT": port, "FAIL_RATE": rate, "LATENCY_MS": latency}))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if c.Port < 0 || c.Port > 65535 || !(c.FailRate >= 0 && c.FailRate <= 1) || c.Latency < 0 || c.Latency > MaxLatency {
			t.Fatalf("accepted an out-of-range config %+v", c)
		}
	})
}
