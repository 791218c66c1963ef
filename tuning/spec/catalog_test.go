package spec

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vethbench/vethbench/internal/field"
)

// fakeCatalog stands in for package tuning's catalog: the knobs the spec
// format must accept, with the same kinds of values, and errors in the
// same style ("invalid knob setting: gro: ..."), which Parse trims to what
// its position does not already say.
type fakeCatalog struct{}

var errFakeInvalid = errors.New("invalid knob setting")

var (
	onOffKnobs = []string{"gro", "gso", "tso", "gro_list", "udp_gro_forwarding", "udp_segmentation", "tx_checksum", "threaded_napi"}
	qdiscs     = []string{"noqueue", "pfifo_fast", "pfifo", "bfifo", "fq", "fq_codel", "sfq", "prio"}
	xdpModes   = []string{"off", "native", "generic"}
	sysctlRe   = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_-]+)+$`)
)

func (fakeCatalog) Parse(knob, value string) (string, error) {
	v, err := fakeParse(knob, value)
	if err != nil {
		// As the real catalog's: the knob's field error.
		return "", &field.Error{Field: knob, Msg: err.Error(), Err: errFakeInvalid}
	}
	return v, nil
}

func fakeParse(knob, value string) (string, error) {
	intRange := func(lo, hi int64) (string, error) {
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return "", fmt.Errorf("want an integer, got %q", value)
		}
		if n < lo || n > hi {
			return "", fmt.Errorf("%d out of range [%d, %d]", n, lo, hi)
		}
		return strconv.FormatInt(n, 10), nil
	}
	oneOf := func(choices []string) (string, error) {
		v := strings.ToLower(value)
		if !slices.Contains(choices, v) {
			return "", fmt.Errorf("%q is not one of %s", value, strings.Join(choices, ", "))
		}
		return v, nil
	}
	switch {
	case slices.Contains(onOffKnobs, knob):
		return oneOf([]string{"on", "off"})
	case knob == "qdisc":
		return oneOf(qdiscs)
	case knob == "xdp":
		return oneOf(xdpModes)
	case knob == "txqueuelen":
		return intRange(0, 1<<32-1)
	case knob == "shape_mbit":
		return intRange(0, 400_000)
	case knob == "gro_flush_timeout":
		return intRange(0, 1<<32-1)
	case knob == "napi_defer_hard_irqs":
		return intRange(0, 1<<31-1)
	case strings.HasPrefix(knob, "sysctl."):
		if !sysctlRe.MatchString(strings.TrimPrefix(knob, "sysctl.")) {
			return "", fmt.Errorf("%q is not a sysctl name like sysctl.net.core.rmem_max", knob)
		}
		v := strings.Join(strings.Fields(value), " ")
		if v == "" {
			return "", fmt.Errorf("empty sysctl value")
		}
		return v, nil
	}
	return "", fmt.Errorf("unknown knob %q", knob)
}
