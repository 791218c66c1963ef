package trend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vethbench/vethbench/reports/result"
)

// AckFileName is the acknowledgements file trend reads beside a history
// directory when no --ack is given.
const AckFileName = "acknowledged.yaml"

// maxAckSize is the largest acknowledgements file read.
const maxAckSize = 1 << 20

// AckError is an acknowledgements file that cannot be used: the CLI exits 2.
type AckError struct {
	Path string
	Msg  string
	Err  error
}

func (e *AckError) Error() string { return e.Path + ": " + e.Msg }
func (e *AckError) Unwrap() error { return e.Err }

type ackFile struct {
	Acknowledged []Ack `yaml:"acknowledged"`
}

// ReadAcks reads an acknowledgements file:
//
//	acknowledged:
//	  - case: veth/pkt=64            # a case name or a pattern (veth/*, *)
//	    metric: pps                  # optional: every metric when absent
//	    since: 2026-11-20T03:00:04Z  # the start of the run where the change starts
//	    reason: kernel 6.19's veth change, accepted in #123
func ReadAcks(ctx context.Context, p string) ([]Ack, error) {
	data, err := result.ReadInput(ctx, p, maxAckSize)
	if err != nil {
		return nil, &AckError{Path: p, Msg: "cannot read: " + strings.TrimPrefix(err.Error(), p+": "), Err: err}
	}
	var f ackFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, &AckError{Path: p, Msg: "not an acknowledgements file: " + err.Error(), Err: err}
	}
	for i, a := range f.Acknowledged {
		bad := func(format string, args ...any) error {
			return &AckError{Path: p, Msg: fmt.Sprintf("acknowledged[%d]: ", i) + fmt.Sprintf(format, args...)}
		}
		switch {
		case strings.TrimSpace(a.Case) == "":
			return nil, bad("case is missing (a case name or a pattern such as veth/*)")
		case a.Metric != "" && !known(a.Metric):
			return nil, bad("metric %q is not one of %s", a.Metric, strings.Join(Metrics, ", "))
		case a.Since.IsZero():
			return nil, bad("since is missing: the start time of the run where the change starts, as trend prints it (e.g. 2026-11-20T03:00:04Z)")
		case strings.TrimSpace(a.Reason) == "":
			return nil, bad("reason is missing: say why the regression was accepted")
		}
		if _, err := path.Match(a.Case, ""); err != nil {
			return nil, bad("case %q is not a valid pattern: %v", a.Case, err)
		}
	}
	return f.Acknowledged, nil
}

func known(metric string) bool {
	_, ok := metricInfo[metric]
	return ok
}

// DefaultAckFile is the acknowledgements file beside a history directory,
// if there is one: dir/acknowledged.yaml.
func DefaultAckFile(dir string) (string, bool) {
	p := filepath.Join(dir, AckFileName)
	fi, err := os.Stat(p)
	return p, err == nil && fi.Mode().IsRegular()
}
