package result

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestEncodeNumberArrays: arrays of numbers go on one line (an interleaved
// sweep's series are thousands of numbers), everything else keeps its
// indentation, and the file reads back the same.
func TestEncodeNumberArrays(t *testing.T) {
	r := NewResult()
	r.Command = []string{"vethbench", "sweep", "[\n  1\n]"} // a string that looks like an array
	r.Questions = []Question{{Text: "q", Baseline: "a", Paired: &Paired{
		Slice: 20 * time.Millisecond, Blocks: 3, TrialBlocks: []int{2, 1},
		Cases: []PairedCase{{Case: "a", PPS: []float64{301234.5, -2, 1.5e-7}, CPUNsPerPkt: []float64{3912.3, 4000, 4100.1}}},
	}}}
	r.Cases = []Case{{Name: "a", Status: StatusOK, Traffic: Traffic{SenderCPUs: []int{0, 1}}}}
	var b bytes.Buffer
	if err := r.Encode(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`"pps": [301234.5, -2, 1.5e-7]`,
		`"cpu_ns_per_pkt": [3912.3, 4000, 4100.1]`,
		`"trial_blocks": [2, 1]`,
		`"sender_cpus": [0, 1]`,
		`"command": [` + "\n", // strings keep their lines
		"\n  \"questions\": [\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("encoding lacks %q:\n%s", want, out)
		}
	}
	got, err := Decode(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Questions, r.Questions) || !reflect.DeepEqual(got.Command, r.Command) {
		t.Errorf("read back:\n%+v\nwant\n%+v", got.Questions[0].Paired, r.Questions[0].Paired)
	}
}
