package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vethbench/vethbench/reports"
	"github.com/vethbench/vethbench/reports/result"
)

func newReportCmd(stdout io.Writer) *cobra.Command {
	var output, format string
	cmd := &cobra.Command{
		Use:   "report RESULT.json",
		Short: "Render a result file as a self-contained HTML report, or a Markdown summary",
		Long: `report renders a vethbench result file. HTML (the default) is one
self-contained file that works offline and prints: the answer to each
question of the sweep first, then the device comparison with confidence
intervals, every swept knob, latency percentiles, drops and accounting,
flagged cases, the host context and the spec, and a table of every case.
Markdown is the short form a CI job posts: the answers, caveats and the
largest differences.

A report needs nothing but the result file, so it can be made on another
machine. vethbench sweep writes report.html beside result.json itself.`,
		Example: `  vethbench report vethbench-results/2026-11-22T10-00-00/result.json
  vethbench report result.json -o /tmp/report.html
  vethbench report result.json --format markdown >> "$GITHUB_STEP_SUMMARY"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "html" && format != "markdown" {
				return usageErr(fmt.Errorf("--format: unknown format %q (html or markdown)", format))
			}
			res, err := result.ReadFile(args[0])
			if err != nil {
				return usageErr(err)
			}
			if format == "markdown" && output == "" {
				return reports.WriteMarkdown(stdout, res)
			}
			if output == "" {
				output = filepath.Join(filepath.Dir(args[0]), "report.html")
			}
			if err := writeReport(output, format, res); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "report: %s\n", output)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "where to write it (default: report.html beside the result; markdown: stdout)")
	cmd.Flags().StringVar(&format, "format", "html", "html or markdown")
	return cmd
}

// writeReport renders res and writes it to path in one piece.
func writeReport(path, format string, res *result.Result) error {
	var b bytes.Buffer
	render := reports.WriteHTML
	if format == "markdown" {
		render = reports.WriteMarkdown
	}
	if err := render(&b, res); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
