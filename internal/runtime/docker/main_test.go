package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/greenlight-ci/greenlight/internal/runtime/runtimetest"
)

// testLabel marks every container and image the tests make, for cleanup.
const testLabel = "greenlight.test"

// Set once by TestMain.
var (
	testRun    = runtimetest.NewID("run") // value of testLabel for this run
	imageTag   string                     // the test server image; "" when no engine answers
	engineDown string                     // why the Docker tests cannot run
)

func TestMain(m *testing.M) {
	os.Exit(setUpAndRun(m))
}

func setUpAndRun(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if !Available(ctx) {
		engineDown = "no Docker Engine answers (DOCKER_HOST or /var/run/docker.sock)"
		return m.Run()
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cli.Close()
	dir, err := os.MkdirTemp("", "docker-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, err := runtimetest.BuildServer(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	imageTag = "greenlight-runtime-test:" + testRun
	if err := buildImage(ctx, cli, bin, imageTag); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cleanUp(cli)
	return m.Run()
}

// needEngine skips a test when no engine answers, except in CI, where the
// engine is part of the environment and its absence a failure.
func needEngine(t *testing.T) {
	t.Helper()
	if engineDown == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s", engineDown)
	}
	t.Skip(engineDown)
}

// buildImage builds a FROM scratch image holding the static test server.
func buildImage(ctx context.Context, cli *client.Client, bin, tag string) error {
	server, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	dockerfile := "FROM scratch\nCOPY testserver /testserver\nEXPOSE 8080\nENTRYPOINT [\"/testserver\"]\n"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {"testserver", 0o755, server}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	resp, err := cli.ImageBuild(ctx, &buf, build.ImageBuildOptions{
		Tags:        []string{tag},
		Labels:      map[string]string{testLabel: testRun},
		Remove:      true,
		ForceRemove: true,
	})
	if err != nil {
		return fmt.Errorf("build test image: %w", err)
	}
	defer resp.Body.Close()
	return readBuildStream(resp.Body)
}

// readBuildStream drains the engine's JSON progress stream, returning the
// build error it reports, if any.
func readBuildStream(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read build output: %w", err)
		}
		if msg.Error != "" {
			return fmt.Errorf("build test image: %s", msg.Error)
		}
	}
}

// cleanUp removes every container and image this run labelled.
func cleanUp(cli *client.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := filters.NewArgs(filters.Arg("label", testLabel+"="+testRun))
	containers, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cleanup:", err)
	}
	for _, c := range containers {
		if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
			fmt.Fprintln(os.Stderr, "cleanup:", err)
		}
	}
	images, err := cli.ImageList(ctx, image.ListOptions{Filters: f})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cleanup:", err)
	}
	for _, img := range images {
		if _, err := cli.ImageRemove(ctx, img.ID, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
			fmt.Fprintln(os.Stderr, "cleanup:", err)
		}
	}
}
