package docker

import (
	"context"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// watchEvery is how often a started task's containers are looked at for an
// essential one that exited.
const watchEvery = time.Second

// watch looks at the task every watchEvery until it is gone or has exited,
// which stops its other containers (Inspect does), or the driver closes. One
// watch runs per task.
func (d *Driver) watch(id string) {
	if _, already := d.watching.LoadOrStore(id, true); already {
		return
	}
	d.watchers.Add(1)
	go func() {
		defer d.watchers.Done()
		defer d.watching.Delete(id)
		tick := time.NewTicker(watchEvery)
		defer tick.Stop()
		for {
			select {
			case <-d.done:
				return
			case <-tick.C:
			}
			task, err := d.Inspect(context.Background(), id)
			if err != nil || task.State != runtime.TaskRunning {
				return
			}
		}
	}()
}

// enforce stops, in the background, the containers still running in a task
// that has exited: an essential container stopped, so the task stops.
func (d *Driver) enforce(task runtime.Task, cs []container.InspectResponse) {
	if task.State == runtime.TaskRunning || !anyRunning(cs) {
		return
	}
	if _, already := d.stopping.LoadOrStore(task.ID, true); already {
		return
	}
	d.logger.Info("stopping the rest of an exited task", "task", task.ID, "reason", task.Error)
	go func() {
		defer d.stopping.Delete(task.ID)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := d.stopContainers(ctx, cs, defaultGrace); err != nil {
			d.logger.Warn("stop the rest of an exited task", "task", task.ID, "err", err)
		}
	}()
}

func anyRunning(cs []container.InspectResponse) bool {
	for _, c := range cs {
		if c.State != nil && c.State.Running {
			return true
		}
	}
	return false
}
