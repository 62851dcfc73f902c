package deploy_test

import (
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

func TestShiftScheduleOfEveryPredefinedConfig(t *testing.T) {
	m := time.Minute
	for name, want := range map[string][]deploy.TrafficShift{
		"CodeDeployDefault.ECSAllAtOnce":                    {{0, 100}},
		"CodeDeployDefault.ECSCanary10Percent5Minutes":      {{0, 10}, {5 * m, 100}},
		"CodeDeployDefault.ECSCanary10Percent15Minutes":     {{0, 10}, {15 * m, 100}},
		"CodeDeployDefault.ECSLinear10PercentEvery1Minutes": {{0, 10}, {m, 20}, {2 * m, 30}, {3 * m, 40}, {4 * m, 50}, {5 * m, 60}, {6 * m, 70}, {7 * m, 80}, {8 * m, 90}, {9 * m, 100}},
		"CodeDeployDefault.ECSLinear10PercentEvery3Minutes": {{0, 10}, {3 * m, 20}, {6 * m, 30}, {9 * m, 40}, {12 * m, 50}, {15 * m, 60}, {18 * m, 70}, {21 * m, 80}, {24 * m, 90}, {27 * m, 100}},
	} {
		got := deploy.ShiftSchedule(manifest.BuiltinDeploymentConfigs[name])
		if len(got) != len(want) {
			t.Errorf("%s: %v, want %v", name, got, want)
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: %v, want %v", name, got, want)
				break
			}
		}
	}
}

func TestShiftScheduleOfCustomConfigsWithSeconds(t *testing.T) {
	linear := manifest.DeploymentConfig{Type: manifest.TrafficTimeBasedLinear, Percentage: 30, Interval: manifest.Duration(2 * time.Second)}
	got := deploy.ShiftSchedule(linear)
	want := []deploy.TrafficShift{{0, 30}, {2 * time.Second, 60}, {4 * time.Second, 90}, {6 * time.Second, 100}}
	if len(got) != len(want) {
		t.Fatalf("linear 30%% every 2s: %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("linear 30%% every 2s: %v, want %v", got, want)
		}
	}
}

func TestWeightAtFollowsTheScheduleAndSaysWhatIsNext(t *testing.T) {
	s := []deploy.TrafficShift{{0, 10}, {5 * time.Second, 100}}
	for _, c := range []struct {
		elapsed time.Duration
		weight  int
		next    time.Duration
	}{
		{0, 10, 5 * time.Second},
		{4999 * time.Millisecond, 10, 5 * time.Second},
		{5 * time.Second, 100, 0},
		{time.Hour, 100, 0}, // resumed long after: straight to the end
	} {
		if w, n := deploy.WeightAt(s, c.elapsed); w != c.weight || n != c.next {
			t.Errorf("at %s: weight %d next %s, want %d %s", c.elapsed, w, n, c.weight, c.next)
		}
	}
}
