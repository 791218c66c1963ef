package probe

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// loadProg loads the smallest program of a type: return ret. Names start
// with "vb_" (testenv.BPFProgPrefix) so leak checks recognise them.
func loadProg(name string, typ ebpf.ProgramType, at ebpf.AttachType, attachTo string, ret int32) (*ebpf.Program, error) {
	spec := &ebpf.ProgramSpec{
		Name:       name,
		Type:       typ,
		AttachType: at,
		AttachTo:   attachTo,
		License:    "GPL",
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, ret),
			asm.Return(),
		},
	}
	prog, err := ebpf.NewProgramWithOptions(spec, ebpf.ProgramOptions{LogDisabled: true})
	if err != nil {
		return nil, fmt.Errorf("load %s program %s: %w", typ, name, err)
	}
	return prog, nil
}

const vmlinuxBTF = "/sys/kernel/btf/vmlinux"

// tracepoints vethbench hooks, as category:name. The last three are the
// boundaries of the per-stage latency (issue 17): the sender's device
// before its qdisc, the driver taking the skb after it, and the receiving
// socket's reader freeing the skb it read.
var tracepoints = []string{"skb:kfree_skb", "net:netif_receive_skb", "napi:napi_poll",
	"net:net_dev_queue", "net:net_dev_start_xmit", "skb:consume_skb"}

// fentryTargets are tried in order; the first one in the kernel's BTF is
// used. kfree_skb_reason became sk_skb_reason_drop in 6.11.
var fentryTargets = []string{"__netif_receive_skb_core", "netif_receive_skb", "sk_skb_reason_drop", "kfree_skb_reason"}

// kprobeTarget is an exported, never-inlined function every kernel has.
const kprobeTarget = "netif_receive_skb"

// bpf probes BTF, the JIT, fentry, kprobes and the tracepoints.
func (p *prober) bpf() {
	spec, specErr := p.btf()
	p.jit()
	p.fentry(spec, specErr)
	p.kprobe()
	for _, tp := range tracepoints {
		p.tracepoint(tp)
	}
}

// btf reports whether the kernel's BTF exists and loads, and returns it.
func (p *prober) btf() (*btf.Spec, error) {
	fi, err := os.Stat(vmlinuxBTF)
	if errors.Is(err, os.ErrNotExist) {
		err = fmt.Errorf("kernel has no BTF: %s does not exist (CONFIG_DEBUG_INFO_BTF)", vmlinuxBTF)
		p.no(GroupBPF, "btf", err.Error())
		return nil, err
	}
	if err != nil {
		p.fail(GroupBPF, "btf", err)
		return nil, err
	}
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		err = fmt.Errorf("%s exists but does not load: %w", vmlinuxBTF, err)
		p.fail(GroupBPF, "btf", err)
		return nil, err
	}
	p.yes(GroupBPF, "btf", fmt.Sprintf("%s, %.1f MiB, loads", vmlinuxBTF, float64(fi.Size())/(1<<20)))
	return spec, nil
}

func (p *prober) jit() {
	const path = "/proc/sys/net/core/bpf_jit_enable"
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		p.no(GroupBPF, "jit", "kernel has no BPF JIT ("+path+" does not exist)")
	case err != nil:
		p.fail(GroupBPF, "jit", err)
	case strings.TrimSpace(string(b)) == "0":
		p.no(GroupBPF, "jit", "JIT disabled (bpf_jit_enable = 0): programs are interpreted")
	default:
		p.yes(GroupBPF, "jit", "bpf_jit_enable = "+strings.TrimSpace(string(b)))
	}
}

// fentry loads and attaches a trivial fentry program to the first of
// fentryTargets that the kernel's BTF describes.
func (p *prober) fentry(spec *btf.Spec, specErr error) {
	if specErr != nil {
		p.no(GroupBPF, "fentry", "needs BTF: "+specErr.Error())
		return
	}
	target := ""
	for _, fn := range fentryTargets {
		var f *btf.Func
		if spec.TypeByName(fn, &f) == nil {
			target = fn
			break
		}
	}
	if target == "" {
		p.no(GroupBPF, "fentry", "none of "+strings.Join(fentryTargets, ", ")+" is a function in the kernel's BTF")
		return
	}
	prog, err := loadProg("vb_probe_fentry", ebpf.Tracing, ebpf.AttachTraceFEntry, target, 0)
	switch {
	case err != nil && unsupported(err):
		p.no(GroupBPF, "fentry", fmt.Sprintf("kernel has no fentry (%s loading against %s): %v", because(err), target, err))
		return
	case err != nil && errors.Is(err, unix.EPERM):
		// Root holds CAP_BPF and CAP_PERFMON: the kernel itself refuses,
		// as a kernel locked down or a security module does.
		p.no(GroupBPF, "fentry", fmt.Sprintf("kernel refuses fentry even to root (EPERM loading against %s: lockdown or a security module)", target))
		return
	case err != nil:
		p.fail(GroupBPF, "fentry", err)
		return
	}
	defer prog.Close()
	l, err := link.AttachTracing(link.TracingOptions{Program: prog, AttachType: ebpf.AttachTraceFEntry})
	switch {
	case err != nil && unsupported(err):
		p.no(GroupBPF, "fentry", fmt.Sprintf("kernel has no fentry trampolines (%s attaching to %s)", because(err), target))
	case err != nil:
		p.fail(GroupBPF, "fentry", fmt.Errorf("attach fentry to %s: %w", target, err))
	default:
		if err := l.Close(); err != nil {
			p.fail(GroupBPF, "fentry", fmt.Errorf("detach fentry from %s: %w", target, err))
			return
		}
		p.yes(GroupBPF, "fentry", "attached to "+target+" and detached")
	}
}

const kprobePMU = "/sys/bus/event_source/devices/kprobe"

// kprobe attaches a trivial kprobe. cilium/ebpf uses the kprobe PMU and
// falls back to tracefs; a kernel without the PMU has no kprobe events
// (the PMU exists since 4.17 wherever kprobe events do).
func (p *prober) kprobe() {
	prog, err := loadProg("vb_probe_kprobe", ebpf.Kprobe, ebpf.AttachNone, "", 0)
	if err != nil {
		if unsupported(err) {
			p.no(GroupBPF, "kprobe", fmt.Sprintf("kernel has no kprobe programs (%s loading one)", because(err)))
		} else {
			p.fail(GroupBPF, "kprobe", err)
		}
		return
	}
	defer prog.Close()
	l, err := link.Kprobe(kprobeTarget, prog, nil)
	if err != nil {
		_, pmuErr := os.Stat(kprobePMU)
		switch {
		case errors.Is(pmuErr, os.ErrNotExist):
			p.no(GroupBPF, "kprobe", fmt.Sprintf("kernel has no kprobe support: no kprobe PMU (%s); tracefs fallback: %s", kprobePMU, innermost(err)))
		case unsupported(err):
			p.no(GroupBPF, "kprobe", fmt.Sprintf("kernel has no kprobe support (%s attaching to %s): %v", because(err), kprobeTarget, err))
		default:
			p.fail(GroupBPF, "kprobe", fmt.Errorf("attach kprobe to %s: %w", kprobeTarget, err))
		}
		return
	}
	if err := l.Close(); err != nil {
		p.fail(GroupBPF, "kprobe", fmt.Errorf("detach kprobe from %s: %w", kprobeTarget, err))
		return
	}
	p.yes(GroupBPF, "kprobe", "attached to "+kprobeTarget+" and detached")
}

// innermost is the last part of a chain of "context: cause" messages.
func innermost(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// tracepoint attaches to tp as tp_btf (BTF-typed raw tracepoint) and as a
// plain raw_tp. Neither needs tracefs.
func (p *prober) tracepoint(tp string) {
	_, name, _ := strings.Cut(tp, ":")
	btfErr := attachTPBTF(name)
	rawErr := attachRawTP(name)
	switch {
	case btfErr == nil && rawErr == nil:
		p.yes(GroupTracepoint, tp, "attaches as tp_btf and as raw_tp")
	case btfErr == nil:
		p.yes(GroupTracepoint, tp, "attaches as tp_btf; raw_tp failed: "+rawErr.Error())
	case rawErr == nil:
		p.yes(GroupTracepoint, tp, "attaches as raw_tp; tp_btf failed: "+btfErr.Error())
	case absent(btfErr) && absent(rawErr):
		p.no(GroupTracepoint, tp, fmt.Sprintf("kernel has no tracepoint %s (tp_btf: %v; raw_tp: %v)", tp, btfErr, rawErr))
	default:
		p.fail(GroupTracepoint, tp, fmt.Errorf("tp_btf: %w; raw_tp: %w", btfErr, rawErr))
	}
}

// absent tells "no such hook here" from other failures.
func absent(err error) bool {
	return unsupported(err) || errors.Is(err, btf.ErrNotFound) || errors.Is(err, unix.ENOENT) || errors.Is(err, os.ErrNotExist)
}

func attachTPBTF(name string) error {
	prog, err := loadProg("vb_probe_tpbtf", ebpf.Tracing, ebpf.AttachTraceRawTp, name, 0)
	if err != nil {
		return err
	}
	defer prog.Close()
	l, err := link.AttachTracing(link.TracingOptions{Program: prog, AttachType: ebpf.AttachTraceRawTp})
	if err != nil {
		return fmt.Errorf("attach tp_btf %s: %w", name, err)
	}
	return l.Close()
}

func attachRawTP(name string) error {
	prog, err := loadProg("vb_probe_rawtp", ebpf.RawTracepoint, ebpf.AttachNone, "", 0)
	if err != nil {
		return err
	}
	defer prog.Close()
	l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: name, Program: prog})
	if err != nil {
		return fmt.Errorf("attach raw_tp %s: %w", name, err)
	}
	return l.Close()
}
