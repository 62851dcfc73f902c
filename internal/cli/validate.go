package cli

import (
	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/awsrender"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

func (a *app) validateCommand() *cobra.Command {
	var source string
	var aws bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check greenlight.yaml and every file it names, without running anything",
		Long: `Check the pipeline definition and the files it names in the source tree
(buildspecs, appspec, task definition template, hook mappings). Every problem is
reported with file:line:column and the allowed values.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			def, err := manifest.Load(a.file)
			if err != nil {
				return err
			}
			dir := source
			if dir == "" {
				dir = def.Dir
			}
			if err := manifest.ValidateFiles(def, dir); err != nil {
				return err
			}
			if aws {
				if err := awsrender.Check(def, dir, a.stdout, a.json); err != nil {
					return err
				}
			}
			p := newPrinter(a.stdout, a.json)
			if a.json {
				p.object(map[string]any{"valid": true, "file": def.Path, "warnings": warningLines(def.Warnings)})
			} else {
				for _, w := range def.Warnings {
					p.line("warning: %s", w)
				}
				p.line("✔ %s is valid (%d stages, %d build projects, %d services, %d alarms)", def.Path, len(def.Pipeline.Stages), len(def.BuildProjects), len(def.Services), len(def.Alarms))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "source tree the files are in (default: the definition's directory)")
	cmd.Flags().BoolVar(&aws, "aws", false, "also list what AWS (deploy/aws) renders differently or cannot carry, with positions")
	return cmd
}

// warningLines are the definition's warnings as file:line:column: message.
func warningLines(ws manifest.ErrorList) []string {
	lines := make([]string, len(ws))
	for i, w := range ws {
		lines[i] = w.Error()
	}
	return lines
}
