// Package config owns the service's settings read from the environment (the task
// definition's "environment" on ECS, greenlight's process or Docker driver locally),
// and the errors that refuse to start on a bad value.
package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// DefaultPort is the container port of the task definition and the Dockerfile.
const DefaultPort = 3000

// MaxLatency bounds LATENCY_MS so that a typo cannot hang every request for hours.
const MaxLatency = time.Minute

// Config is the service's settings.
type Config struct {
	Host string // HOST: interface to listen on; empty means all interfaces
	Port int    // PORT: 0..65535; 0 picks a free port
	// FailRate is the fraction (0..1) of /orders requests answered with 500: a bad
	// release in one line of the task definition.
	FailRate float64
	// Latency is added to every /orders request.
	Latency time.Duration
}

// Addr is the address to listen on.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// FromEnv reads the settings through getenv (os.Getenv in main). It reports every
// bad variable, each with its value and what is allowed.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{Host: strings.TrimSpace(getenv("HOST")), Port: DefaultPort}
	var errs []error
	if v, ok := lookup(getenv, "PORT"); ok {
		port, err := strconv.Atoi(v)
		if err != nil || port < 0 || port > 65535 {
			errs = append(errs, fmt.Errorf("PORT=%q: must be an integer from 0 to 65535", v))
		}
		c.Port = port
	}
	if v, ok := lookup(getenv, "FAIL_RATE"); ok {
		rate, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(rate) || rate < 0 || rate > 1 {
			errs = append(errs, fmt.Errorf("FAIL_RATE=%q: must be a number from 0 to 1 (0.5 fails half of the /orders requests)", v))
		}
		c.FailRate = rate
	}
	if v, ok := lookup(getenv, "LATENCY_MS"); ok {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 || ms > MaxLatency.Milliseconds() {
			errs = append(errs, fmt.Errorf("LATENCY_MS=%q: must be an integer number of milliseconds from 0 to %d", v, MaxLatency.Milliseconds()))
		}
		c.Latency = time.Duration(ms) * time.Millisecond
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// lookup treats an empty or blank variable as unset, as the task definition's
// environment often carries "" for "default".
func lookup(getenv func(string) string, name string) (string, bool) {
	v := strings.TrimSpace(getenv(name))
	return v, v != ""
}
