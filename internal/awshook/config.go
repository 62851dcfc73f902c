package awshook

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Environment variables the stack (deploy/aws/hooks.tf) sets on a hook function.
const (
	EnvCommand = "GREENLIGHT_HOOK_COMMAND" // JSON array: the hook's command
	EnvTimeout = "GREENLIGHT_HOOK_TIMEOUT" // Go duration: the hook's timeout
	EnvEvent   = "GREENLIGHT_LIFECYCLE_EVENT"
	EnvCluster = "GREENLIGHT_ECS_CLUSTER"
	EnvService = "GREENLIGHT_ECS_SERVICE"
)

// DefaultReserve is the time a function keeps before its deadline to report; the
// stack gives each function this much more than its hook's timeout.
const DefaultReserve = 10 * time.Second

// FromEnvironment reads a function's Config from its environment; env is the
// whole environment (os.Environ), which the command inherits.
func FromEnvironment(getenv func(string) string, env []string, dir string) (Config, error) {
	var cfg Config
	raw := getenv(EnvCommand)
	if raw == "" {
		return cfg, errors.New(EnvCommand + " is not set: the stack sets it to the hook's command as a JSON array")
	}
	if err := json.Unmarshal([]byte(raw), &cfg.Command); err != nil || len(cfg.Command) == 0 || cfg.Command[0] == "" {
		return cfg, fmt.Errorf("%s: expected a JSON array naming a program, like [\"./dist/app\", \"smoke\"], got %q", EnvCommand, raw)
	}
	timeout, err := time.ParseDuration(getenv(EnvTimeout))
	if err != nil || timeout <= 0 {
		return cfg, fmt.Errorf("%s: expected a positive duration like 30s, got %q", EnvTimeout, getenv(EnvTimeout))
	}
	cfg.Timeout, cfg.Reserve, cfg.Env, cfg.Dir = timeout, DefaultReserve, env, dir
	cfg.LifecycleEvent, cfg.Cluster, cfg.Service = getenv(EnvEvent), getenv(EnvCluster), getenv(EnvService)
	return cfg, nil
}
