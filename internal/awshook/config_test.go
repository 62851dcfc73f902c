package awshook

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFromEnvironment(t *testing.T) {
	env := map[string]string{
		EnvCommand: `["./dist/orders-service","smoke","-url-env","GREENLIGHT_TEST_URL"]`,
		EnvTimeout: "30s",
		EnvEvent:   "AfterInstall", EnvCluster: "production", EnvService: "orders-service-production",
	}
	cfg, err := FromEnvironment(func(k string) string { return env[k] }, []string{"A=1"}, "/var/task")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"./dist/orders-service", "smoke", "-url-env", "GREENLIGHT_TEST_URL"}
	if !reflect.DeepEqual(cfg.Command, want) || cfg.Timeout != 30*time.Second || cfg.Reserve != DefaultReserve || cfg.Dir != "/var/task" || cfg.Env[0] != "A=1" ||
		cfg.LifecycleEvent != "AfterInstall" || cfg.Cluster != "production" || cfg.Service != "orders-service-production" {
		t.Fatalf("config = %+v", cfg)
	}
}

func TestFromEnvironmentRefusesBadSettings(t *testing.T) {
	tests := []struct {
		command, timeout, want string
	}{
		{"", "30s", "GREENLIGHT_HOOK_COMMAND is not set"},
		{`./smoke`, "30s", `GREENLIGHT_HOOK_COMMAND: expected a JSON array naming a program`},
		{`[]`, "30s", `GREENLIGHT_HOOK_COMMAND: expected a JSON array naming a program`},
		{`["./smoke"]`, "", `GREENLIGHT_HOOK_TIMEOUT: expected a positive duration like 30s, got ""`},
		{`["./smoke"]`, "-5s", `GREENLIGHT_HOOK_TIMEOUT: expected a positive duration like 30s, got "-5s"`},
	}
	for _, tt := range tests {
		env := map[string]string{EnvCommand: tt.command, EnvTimeout: tt.timeout}
		_, err := FromEnvironment(func(k string) string { return env[k] }, nil, "")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("command %q timeout %q: err = %v, want %q", tt.command, tt.timeout, err, tt.want)
		}
	}
}
