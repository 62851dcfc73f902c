package cli

import (
	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/build"
	"github.com/greenlight-ci/greenlight/internal/retention"
)

func (a *app) gcCommand() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove old artifacts, logs, build folders, caches and events (retention: in greenlight.yaml)",
		Long: `Remove what greenlight.yaml's retention section no longer keeps from the state
directory: artifacts and logs of finished executions, deployment logs, build
folders beyond the newest of each project, unused build caches and old events.
What an execution in progress or an active deployment needs stays: the revision
a deployment installs, the one production runs from and the original kept warm.
Prints each thing removed; --dry-run only says what would go.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, err := a.open(ctx, true)
			if err != nil {
				return err
			}
			defer s.close()
			c := retention.Collector{StateDir: s.stateDir, Policy: s.def.Retention.OrDefault(), State: retention.StoreState{DB: s.db}, DryRun: dryRun}
			items, err := c.Collect(ctx)
			a.printRemoved(items, dryRun)
			return err
		},
	}
	cmd.Flags().BoolVarP(&dryRun, "dry-run", "n", false, "print what would be removed, remove nothing")
	return cmd
}

// printRemoved prints one line (or JSON object) per item and a total.
func (a *app) printRemoved(items []retention.Item, dryRun bool) {
	p := newPrinter(a.stdout, a.json)
	verb := "removed"
	if dryRun {
		verb = "would remove"
	}
	var bytes int64
	for _, it := range items {
		bytes += it.Bytes
		switch {
		case a.json:
			p.object(it)
		case it.Kind == retention.KindEvents:
			p.line("%s %d events (%s)", verb, it.Count, it.Reason)
		default:
			p.line("%s %s %s, %s (%s)", verb, it.Kind, it.Path, build.HumanSize(it.Bytes), it.Reason)
		}
	}
	if !a.json {
		p.line("%s %d items, %s", verb, len(items), build.HumanSize(bytes))
	}
}
