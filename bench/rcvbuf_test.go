package bench

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/internal/testenv"
	"github.com/vethbench/vethbench/reports/result"
	"github.com/vethbench/vethbench/tuning"
)

// The receiver's buffer is read back like a knob: twice what was asked (the
// kernel's bookkeeping) or the smallest buffer is as asked; anything else is
// a changed setting and a flag that says why.
func TestRcvbufSetting(t *testing.T) {
	if _, _, ok := rcvbufSetting(0, 212992, 212992); ok {
		t.Error("rcvbuf 0 (the kernel's default) recorded a setting")
	}
	for _, tc := range []struct {
		asked, effective, rmemMax int
		status, detail            string
	}{
		{1 << 20, 2 << 20, 212992, tuning.StatusOK, ""},
		{100, sockMinRcvbuf, 212992, tuning.StatusOK, ""},
		// Without CAP_NET_ADMIN, SO_RCVBUF is capped at rmem_max, doubled.
		{1 << 20, 2 * 212992, 212992, tuning.StatusChanged, "capped at net.core.rmem_max (212992, doubled)"},
		{1 << 20, 4096, -1, tuning.StatusChanged, "has 4096"},
	} {
		s, flag, ok := rcvbufSetting(tc.asked, tc.effective, tc.rmemMax)
		if !ok || s.Knob != "rcvbuf" || s.Asked != strconv.Itoa(tc.asked) || s.After != strconv.Itoa(tc.effective) || s.Status != tc.status {
			t.Errorf("%d -> %d: setting %+v, want status %s", tc.asked, tc.effective, s, tc.status)
		}
		if (flag != "") != (tc.status == tuning.StatusChanged) || !strings.Contains(s.Detail, tc.detail) || !strings.Contains(flag, tc.detail) {
			t.Errorf("%d -> %d: flag %q detail %q, want one naming %q when changed", tc.asked, tc.effective, flag, s.Detail, tc.detail)
		}
	}
}

// A case asking for more than net.core.rmem_max records what the receiver
// got: as root SO_RCVBUFFORCE passes the cap, so twice what was asked,
// status ok and no flag.
func TestRunCaseRcvbufAboveRmemMax(t *testing.T) {
	testenv.RequireRoot(t)
	lim := rmemMax()
	if lim < 0 {
		t.Skip("net.core.rmem_max unreadable")
	}
	c := vethCase(64)
	c.Traffic.RcvBuf = lim + 1<<20
	m := plan.Measure{Trials: 1, Duration: 200 * time.Millisecond, Confidence: 0.95}
	rc, err := RunCase(context.Background(), c, m, Options{})
	if err != nil || rc.Status != result.StatusOK {
		t.Fatalf("%v %s %s", err, rc.Status, rc.Error)
	}
	var got *result.Setting
	for i, s := range rc.Settings {
		if s.Knob == "rcvbuf" {
			got = &rc.Settings[i]
		}
	}
	if got == nil {
		t.Fatalf("no rcvbuf setting in %+v", rc.Settings)
	}
	if want := strconv.Itoa(2 * c.Traffic.RcvBuf); got.After != want || got.Status != tuning.StatusOK || rc.Traffic.RcvBuf != 2*c.Traffic.RcvBuf {
		t.Errorf("rcvbuf %d above rmem_max %d: setting %+v, receiver_rcvbuf %d; want after %s, ok", c.Traffic.RcvBuf, lim, *got, rc.Traffic.RcvBuf, want)
	}
	for _, f := range rc.Flags {
		if strings.Contains(f, "rcvbuf") {
			t.Errorf("flag %q for a buffer root was given", f)
		}
	}
}
