package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vethbench/vethbench/reports"
	"github.com/vethbench/vethbench/reports/compare"
	"github.com/vethbench/vethbench/reports/result"
)

func newReportCmd(stdout io.Writer) *cobra.Command {
	var output, format string
	var compareMode bool
	var ignore []string
	cmd := &cobra.Command{
		Use:   "report RESULT.json | report --compare BASE NEW",
		Short: "Render a result file as a self-contained HTML report, or a Markdown summary",
		Long: `report renders a vethbench result file. HTML (the default) is one
self-contained file that works offline and prints: the answer to each
question of the sweep first, then the device comparison with confidence
intervals, every swept knob, latency percentiles, drops and accounting,
flagged cases, the host context and the spec, and a table of every case.
Markdown is the short form a CI job posts: the answers, caveats and the
largest differences.

A report needs nothing but the result file, so it can be made on another
machine. vethbench sweep writes report.html beside result.json itself.
Inputs must be regular files of at most 64 MiB.

With --compare, report takes two files, BASE and NEW (result files or Go
benchmark files, as vethbench compare does), and writes one HTML page
comparing them (default ./compare.html): the verdicts with the default
options of vethbench compare, each case's ratio with its interval, and what
differs between the runs (host context and knob values).`,
		Example: `  vethbench report vethbench-results/2026-11-22T10-00-00/result.json
  vethbench report result.json -o /tmp/report.html
  vethbench report result.json --format markdown >> "$GITHUB_STEP_SUMMARY"
  vethbench report --compare base/result.json new/result.json -o compare.html`,
		Args: func(cmd *cobra.Command, args []string) error {
			if compareMode {
				if len(args) != 2 {
					return fmt.Errorf("report --compare takes 2 files, BASE and NEW; got %d", len(args))
				}
				return nil
			}
			if len(args) != 1 {
				return fmt.Errorf("report takes 1 result file, got %d (to compare two, use --compare BASE NEW)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if compareMode {
				if cmd.Flags().Changed("format") && format != "html" {
					return usageErr(fmt.Errorf("--format %s: report --compare writes HTML only (for text, markdown or json use vethbench compare)", format))
				}
				if output == "" {
					output = "compare.html"
				}
				if err := checkOutputFile("-o", output); err != nil {
					return err
				}
				if err := writeCompareReport(cmd.Context(), output, args[0], args[1], ignore); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "report: %s\n", output)
				return nil
			}
			if format != "html" && format != "markdown" {
				return usageErr(fmt.Errorf("--format: unknown format %q (html or markdown)", format))
			}
			if output != "" {
				if err := checkOutputFile("-o", output); err != nil {
					return err
				}
			}
			res, err := result.ReadFileContext(cmd.Context(), args[0])
			if err != nil {
				return usageErr(err)
			}
			if format == "markdown" && output == "" {
				return reports.WriteMarkdown(stdout, res)
			}
			if output == "" {
				output = filepath.Join(filepath.Dir(args[0]), "report.html")
				if err := checkOutputFile("report", output); err != nil {
					return err
				}
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
	cmd.Flags().StringArrayVar(&ignore, "ignore", nil, "with --compare: drop /KEY=... from case names before matching (repeatable), as in vethbench compare")
	cmd.Flags().BoolVar(&compareMode, "compare", false, "compare two files, BASE and NEW, in one HTML page (default output: ./compare.html)")
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

// writeCompareReport compares the files at basePath and newPath with the
// default options of vethbench compare and writes the HTML page to path.
// Result files are also read as results, for the host and knob diff.
func writeCompareReport(ctx context.Context, path, basePath, newPath string, ignore []string) error {
	bi, err := compare.LoadContext(ctx, basePath)
	if err != nil {
		return badInput(err)
	}
	ni, err := compare.LoadContext(ctx, newPath)
	if err != nil {
		return badInput(err)
	}
	opts := compare.DefaultOptions()
	opts.Ignore = ignore
	rep, err := compare.Compare(bi, ni, opts)
	if err != nil {
		return badInput(err)
	}
	var base, nw *result.Result
	if bi.Source.Format == compare.FormatResult && ni.Source.Format == compare.FormatResult {
		if base, err = result.ReadFileContext(ctx, basePath); err != nil {
			return usageErr(err)
		}
		if nw, err = result.ReadFileContext(ctx, newPath); err != nil {
			return usageErr(err)
		}
	}
	var b bytes.Buffer
	if err := reports.WriteCompareHTML(&b, rep, base, nw); err != nil {
		return fmt.Errorf("render comparison: %w", err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	// As vethbench compare: a page that compared nothing is written, so
	// the reader sees why, and the command exits 2.
	if err := rep.NothingCompared(); err != nil {
		return usageErr(err)
	}
	return nil
}
