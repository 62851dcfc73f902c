package manifest

import (
	"strings"
	"testing"
	"time"
)

func TestRetentionDefaultsAndSettings(t *testing.T) {
	def, err := ParseDefinition("greenlight.yaml", []byte(minimal))
	mustNotFail(t, err)
	if got := def.Retention.OrDefault(); got != DefaultRetention || def.Retention.KeepBuilds() != 10 {
		t.Errorf("without a retention section: %+v", got)
	}
	def, err = ParseDefinition("greenlight.yaml", []byte(minimal+"retention:\n  builds: 3\n  artifacts: 7d\n  logs: 12h\n  events: forever\n  keep_executions: 0\n"))
	mustNotFail(t, err)
	r := def.Retention.OrDefault()
	want := Retention{Builds: 3, Artifacts: Duration(7 * 24 * time.Hour), Logs: Duration(12 * time.Hour), Events: 0,
		Cache: DefaultRetention.Cache, KeepExecutions: 0, Pos: r.Pos}
	if r != want {
		t.Errorf("retention = %+v\nwant %+v", r, want)
	}
}

func TestRetentionErrors(t *testing.T) {
	src := minimal + "retention:\n  builds: 0\n  artifacts: 7 days\n  logs: 0d\n  events: 30\n  cache: never\n  keep: 3\n"
	_, err := ParseDefinition("greenlight.yaml", []byte(src))
	assertErrors(t, src, err,
		`greenlight.yaml:14:11: builds: 0 is out of range (allowed: 1 to 100000)`,
		`greenlight.yaml:15:14: artifacts: invalid period "7 days" (write days like 30d, a duration like 12h, or forever)`,
		`greenlight.yaml:16:9: logs: invalid period "0d" (write days like 30d, a duration like 12h, or forever)`,
		`greenlight.yaml:17:11: events: 30s is out of range (allowed: 1m to 876000h)`,
		`greenlight.yaml:18:10: cache: invalid period "never" (write days like 30d, a duration like 12h, or forever)`,
		`greenlight.yaml:19:3: retention: unknown key "keep" (allowed: builds, artifacts, logs, events, cache, keep_executions)`,
	)
}

func TestBuildProjectNames(t *testing.T) {
	src := minimal + "  x/y: {}\n"
	_, err := ParseDefinition("greenlight.yaml", []byte(src))
	assertErrors(t, src, err, `greenlight.yaml:13:3: build_projects: "x/y" is not a build project name (up to 255 letters, digits, - and _, starting with a letter or digit)`)
}

func TestBuildProjectCacheType(t *testing.T) {
	def, err := ParseDefinition("greenlight.yaml", []byte(minimal))
	mustNotFail(t, err)
	if got := def.BuildProjects["b"].Cache.Type; got != CacheLocal {
		t.Errorf("default cache type %q, want LOCAL", got)
	}
	src := strings.Replace(minimal, "  b: {}\n", "  b: {cache: {type: S3}}\n", 1)
	def, err = ParseDefinition("greenlight.yaml", []byte(src))
	mustNotFail(t, err)
	if got := def.BuildProjects["b"].Cache.Type; got != CacheS3 {
		t.Errorf("cache type %q, want S3", got)
	}
	src = strings.Replace(minimal, "  b: {}\n", "  b: {cache: {type: EFS}}\n", 1)
	_, err = ParseDefinition("greenlight.yaml", []byte(src))
	assertErrors(t, src, err, `greenlight.yaml:12:21: type: unknown "EFS" (allowed: LOCAL, S3, NO_CACHE)`)
}
