package reports

// What differs between the two runs: host context and knob values.

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/vethbench/vethbench/reports/compare"
	"github.com/vethbench/vethbench/reports/result"
)

type hostDiff struct{ What, Base, New string }

type knobDiff struct{ Case, Knob, Target, Base, New string }

type differsView struct {
	Host        []hostDiff
	HaveResults bool
	NoResults   string
	Knobs       []knobDiff
}

func buildDiffers(rep *compare.Report, base, new *result.Result) differsView {
	var v differsView
	add := func(what, b, n string) {
		if b != n {
			v.Host = append(v.Host, hostDiff{What: what, Base: orNone(b), New: orNone(n)})
		}
	}
	bh, nh := rep.Base.Host, rep.New.Host
	add("kernel", bh.Kernel, nh.Kernel)
	add("arch", bh.Arch, nh.Arch)
	add("CPU", bh.CPUModel, nh.CPUModel)
	add("vCPUs", countText(bh.VCPUs), countText(nh.VCPUs))
	add("tool version", rep.Base.Tool, rep.New.Tool)
	add("format", rep.Base.Format, rep.New.Format)
	if base != nil && new != nil {
		add("steal", fmt.Sprintf("%.1f%%", base.Host.StealPct), fmt.Sprintf("%.1f%%", new.Host.StealPct))
		add("Go version", base.Tool.GoVersion, new.Tool.GoVersion)
		bs, ns := base.Settings, new.Settings
		add("trials", strconv.Itoa(bs.Trials), strconv.Itoa(ns.Trials))
		add("trial duration", bs.Duration.String(), ns.Duration.String())
		add("warmup", bs.Warmup.String(), ns.Warmup.String())
		add("confidence", levelText(bs.Confidence), levelText(ns.Confidence))
		add("interleaved", strconv.FormatBool(bs.Interleaved), strconv.FormatBool(ns.Interleaved))
	}
	if base == nil || new == nil {
		v.NoResults = "Knob values are only known for vethbench result files; at least one input is in the Go benchmark format."
		return v
	}
	v.HaveResults = true
	for _, k := range diffMaps(base.HostKnobs, new.HostKnobs) {
		v.Knobs = append(v.Knobs, knobDiff{Case: "(host)", Knob: k.key, Target: "host", Base: k.base, New: k.new})
	}
	bc, nc := casesByName(base), casesByName(new)
	for _, c := range rep.Cases {
		if c.In != compare.InBoth {
			continue
		}
		b, okb := bc[cmp.Or(c.BaseName, c.Name)]
		n, okn := nc[cmp.Or(c.NewName, c.Name)]
		if !okb || !okn {
			continue
		}
		v.Knobs = append(v.Knobs, caseKnobDiffs(c.Name, b, n)...)
	}
	return v
}

func orNone(s string) string { return cmp.Or(s, "—") }

func countText(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func casesByName(r *result.Result) map[string]*result.Case {
	m := make(map[string]*result.Case, len(r.Cases))
	for i := range r.Cases {
		m[r.Cases[i].Name] = &r.Cases[i]
	}
	return m
}

type mapDiff struct{ key, base, new string }

// diffMaps lists the keys whose values differ, sorted; a key missing on
// one side shows as "—".
func diffMaps(b, n map[string]string) []mapDiff {
	var out []mapDiff
	keys := slices.Sorted(maps.Keys(b))
	for k := range n {
		if _, ok := b[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		bv, bok := b[k]
		nv, nok := n[k]
		if bok && nok && bv == nv {
			continue
		}
		if !bok {
			bv = "—"
		}
		if !nok {
			nv = "—"
		}
		out = append(out, mapDiff{k, bv, nv})
	}
	return out
}

// caseKnobDiffs lists a case's differing knobs: every DeviceKnobs field by
// role, every Setting by knob and target, every namespace sysctl.
func caseKnobDiffs(name string, b, n *result.Case) []knobDiff {
	var out []knobDiff
	roles := slices.Sorted(maps.Keys(b.Knobs))
	for r := range n.Knobs {
		if _, ok := b.Knobs[r]; !ok {
			roles = append(roles, r)
		}
	}
	slices.Sort(roles)
	for _, role := range roles {
		bk, bok := b.Knobs[role]
		nk, nok := n.Knobs[role]
		if !bok || !nok {
			out = append(out, knobDiff{Case: name, Knob: "device", Target: role, Base: presence(bok), New: presence(nok)})
			continue
		}
		for _, d := range diffMaps(deviceKnobValues(bk), deviceKnobValues(nk)) {
			out = append(out, knobDiff{Case: name, Knob: d.key, Target: role, Base: d.base, New: d.new})
		}
	}
	settings := func(c *result.Case) map[string]string {
		m := map[string]string{}
		for _, s := range c.Settings {
			v := s.After
			if s.Status != "" && s.Status != "ok" {
				v += " (" + s.Status + ")"
			}
			m[s.Knob+"\x00"+s.Target] = v
		}
		return m
	}
	for _, d := range diffMaps(settings(b), settings(n)) {
		knob, target, _ := strings.Cut(d.key, "\x00")
		out = append(out, knobDiff{Case: name, Knob: knob + " (setting)", Target: target, Base: d.base, New: d.new})
	}
	nss := slices.Sorted(maps.Keys(b.Sysctls))
	for ns := range n.Sysctls {
		if _, ok := b.Sysctls[ns]; !ok {
			nss = append(nss, ns)
		}
	}
	slices.Sort(nss)
	for _, ns := range nss {
		for _, d := range diffMaps(b.Sysctls[ns], n.Sysctls[ns]) {
			out = append(out, knobDiff{Case: name, Knob: d.key, Target: "netns " + ns, Base: d.base, New: d.new})
		}
	}
	return out
}

func presence(ok bool) string {
	if ok {
		return "present"
	}
	return "absent"
}

// deviceKnobValues flattens a device's knobs to name → value, by their
// JSON names, so that every field (present and future) is compared; the
// features map gives one entry per feature.
func deviceKnobValues(k result.DeviceKnobs) map[string]string {
	out := map[string]string{}
	v := reflect.ValueOf(k)
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			name = f.Name
		}
		if name == "ifname" {
			continue // carries each run's own id: always differs, never a knob
		}
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.Map:
			iter := fv.MapRange()
			for iter.Next() {
				out[fmt.Sprintf("%s.%v", name, iter.Key().Interface())] = fmt.Sprint(iter.Value().Interface())
			}
		case reflect.Slice:
			var parts []string
			for j := range fv.Len() {
				parts = append(parts, fmt.Sprint(fv.Index(j).Interface()))
			}
			if len(parts) > 0 {
				out[name] = strings.Join(parts, "; ")
			}
		default:
			out[name] = fmt.Sprint(fv.Interface())
		}
	}
	return out
}
