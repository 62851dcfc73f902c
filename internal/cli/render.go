package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/awsrender"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

func (a *app) renderCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Write greenlight.yaml as the inputs of another system",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(a.renderTerraformCommand())
	return cmd
}

func (a *app) renderTerraformCommand() *cobra.Command {
	var out, source string
	cmd := &cobra.Command{
		Use:   "terraform",
		Short: "Write " + awsrender.TFVarsName + " for the Terraform stack under deploy/aws",
		Long: `Render the pipeline, build projects, services, deployment groups, alarms and hook
functions of greenlight.yaml as the ` + "`greenlight`" + ` variable of the Terraform module under
deploy/aws, into DIR/` + awsrender.TFVarsName + ` (Terraform reads it by itself).
Every feature AWS cannot carry as written is listed with its file:line:column.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := a.renderAWS(source)
			if err != nil {
				return err
			}
			path, err := res.Stack.WriteTFVars(out)
			if err != nil {
				return err
			}
			// Findings are warnings for people, objects in the stream for --json.
			findings := a.stderr
			if a.json {
				findings = a.stdout
			}
			if err := awsrender.WriteFindings(findings, res.Findings, a.json); err != nil {
				return err
			}
			if a.json {
				newPrinter(a.stdout, true).object(map[string]any{"wrote": path, "findings": len(res.Findings)})
				return nil
			}
			_, err = fmt.Fprintf(a.stdout, "✔ wrote %s\n", path)
			return err
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", ".", "directory to write "+awsrender.TFVarsName+" into (the Terraform root)")
	cmd.Flags().StringVar(&source, "source", "", "source tree the files are in (default: the definition's directory)")
	return cmd
}

// renderAWS loads and validates the definition and its files, then renders it.
func (a *app) renderAWS(source string) (*awsrender.Result, error) {
	def, err := manifest.Load(a.file)
	if err != nil {
		return nil, err
	}
	if source == "" {
		source = def.Dir
	}
	if err := manifest.ValidateFiles(def, source); err != nil {
		return nil, err
	}
	return awsrender.Render(def, source)
}
