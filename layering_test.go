package vethbench_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// The module's packages, each with its transitive imports, from go list.
func deps(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	m := map[string][]string{}
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		f := strings.Fields(string(line))
		m[strings.TrimPrefix(f[0], module)] = f[1:]
	}
	return m
}

const module = "github.com/vethbench/vethbench/"

// kernelLibs are the libraries that talk to the kernel.
var kernelLibs = []string{"github.com/cilium/ebpf", "github.com/vishvananda/netlink", "github.com/safchain/ethtool", "github.com/google/nftables"}

func under(pkg, dir string) bool { return pkg == dir || strings.HasPrefix(pkg, dir+"/") }

// TestLayering keeps each package importing only what is below it: the
// layers of README's Layout. A failure names the import that breaks them.
func TestLayering(t *testing.T) {
	all := deps(t)
	if len(all) < 10 {
		t.Fatalf("go list found %d packages", len(all))
	}
	for pkg, ds := range all {
		for _, d := range ds {
			own, ours := strings.CutPrefix(d, module)
			// Report renderers, the tools that check result files,
			// statistics and the histogram's math are read on any
			// machine: no kernel library may reach them.
			if under(pkg, "reports") || under(pkg, "tools") || pkg == "internal/stats" || pkg == "internal/histogram" {
				for _, k := range kernelLibs {
					if under(d, k) {
						t.Errorf("%s depends on %s: it must not need a kernel library", pkg, d)
					}
				}
			}
			if !ours {
				continue
			}
			switch {
			case own == "bench" && !under(pkg, "cmd"):
				t.Errorf("%s depends on bench, the runner: only cmd/ may", pkg)
			case under(pkg, "ebpf") && under(own, "bench"):
				t.Errorf("%s depends on %s: ebpf sits below bench", pkg, own)
			case under(pkg, "tuning") && (own == "bench" || own == "bench/plan") && !under(pkg, "tuning/spec"):
				t.Errorf("%s depends on %s: tuning sits below the plan", pkg, own)
			case pkg == "tuning/spec" && own == "bench":
				t.Errorf("tuning/spec depends on bench: a spec expands into bench/plan cases, never the runner")
			case under(pkg, "internal") && !under(own, "internal"):
				t.Errorf("%s depends on %s: internal/ packages are the bottom layer", pkg, own)
			case pkg == "reports/result" && own != "":
				t.Errorf("reports/result depends on %s: the schema is a leaf", own)
			case under(pkg, "reports") && !under(own, "reports") && own != "internal/stats" && own != "internal/histogram" && own != "internal/field":
				t.Errorf("%s depends on %s: reports read only result files (and use the math and the field error)", pkg, own)
			case under(pkg, "tools") && !under(own, "reports") && own != "internal/stats" && own != "internal/histogram":
				t.Errorf("%s depends on %s: tools (make sensitivity's checker) read only result files", pkg, own)
			}
		}
	}
}
