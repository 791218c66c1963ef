package result

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sample() *Result {
	r := NewResult()
	r.Tool = Tool{Name: "vethbench", Version: "test", GoVersion: "go1.26"}
	r.Command = []string{"vethbench", "run"}
	r.StartedAt = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	r.FinishedAt = r.StartedAt.Add(time.Minute)
	r.Host = Host{Kernel: "6.18", Arch: "amd64", CPUModel: "cpu", VCPUs: 2, StealPct: 1.5}
	r.Settings = Settings{Trials: 1, Duration: time.Second, Confidence: 0.95}
	r.Cases = []Case{{
		Name: "veth/pkt=64", Status: StatusOK, Topology: Topology{Kind: "veth", Family: "ipv4", MTU: 1500, RunID: "abc"},
		Knobs:  map[string]DeviceKnobs{"sender": {Ifname: "vb1-s", Qdisc: "noqueue", Features: map[string]bool{"rx-gro": false}}},
		Trials: []Trial{{Sent: 10, Received: 9, Dropped: 1, Closed: true, Drops: map[string]uint64{"receiver.Udp.InErrors": 1}}},
	}}
	return r
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	want := sample()
	if err := want.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the result:\n got %+v\nwant %+v", got, want)
	}
	// The temporary file of the atomic write is gone.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("directory holds %d files after WriteFile", len(ents))
	}
	// Readable by others, as a report: a history swept with sudo is read
	// by the CI user (vethbench trend).
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (err %v), want 0644", fi.Mode().Perm(), err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"not json":     "schema: yaml",
		"other schema": `{"schema":"something-else","version":1}`,
		"newer":        `{"schema":"vethbench-result","version":99}`,
	} {
		if _, err := Decode(strings.NewReader(in)); !errors.Is(err, ErrSchema) {
			t.Errorf("%s: %v, want ErrSchema", name, err)
		}
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("reading a missing file did not fail")
	}
}
