package vbpf

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// XDPBareProgramName is the name of the bare redirect program.
const XDPBareProgramName = "vb_xdp_bare"

// XDPBare is vb_xdp_bare loaded for one device: a program that only
// redirects every frame, unchanged, to the device. It is run exactly as
// XDPGen is (live frames, kept in the XDP dispatcher by the same anchor),
// so that what it reaches is the ceiling of the path the generator uses,
// against which the generator's own cost is measured.
type XDPBare struct {
	mu       sync.Mutex // as XDPGen's: runs take turns (the frame count is one per instance), Close waits for them
	closed   bool
	prog     *ebpf.Program
	frames   *ebpf.Variable // the program's frame count
	anchor   *dispatcherAnchor
	maxFrame int
}

// LoadXDPBare loads vb_xdp_bare so that it redirects every frame to
// ifindex. Errors wrap ErrNotSupported as LoadXDPGen's do. The caller must
// Close the result.
func LoadXDPBare(ifindex int) (*XDPBare, error) {
	if ifindex <= 0 {
		return nil, fmt.Errorf("bare xdp program: ifindex %d", ifindex)
	}
	maxFrame, err := LiveFrameMax()
	if err != nil {
		return nil, err
	}
	spec, err := loadXdpbare()
	if err != nil {
		return nil, err
	}
	if err := setXDPVars(spec, map[string]any{xdpbareVarIfindex: uint32(ifindex)}); err != nil {
		return nil, fmt.Errorf("bare xdp program: %w", err)
	}
	var objs struct {
		Prog   *ebpf.Program  `ebpf:"vb_xdp_bare"`
		Frames *ebpf.Variable `ebpf:"frames"`
	}
	if err := spec.LoadAndAssign(&objs, nil); err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("%w: load %s: %w", ErrNotSupported, XDPBareProgramName, err)
		}
		return nil, fmt.Errorf("load %s: %w", XDPBareProgramName, err)
	}
	b := &XDPBare{prog: objs.Prog, frames: objs.Frames, maxFrame: maxFrame}
	if b.anchor, err = anchorDispatcher(b.prog, XDPBareProgramName); err != nil {
		b.prog.Close()
		return nil, err
	}
	return b, nil
}

// MaxFrame is the largest frame Run takes on this kernel (see LiveFrameMax).
func (b *XDPBare) MaxFrame() int { return b.maxFrame }

// Run makes one live-frames BPF_PROG_RUN call as XDPGen.Run does and
// returns how many frames the program ran over, as the program counted
// them: repeat when the call completed, more when a signal made it start
// over, fewer when it failed partway.
func (b *XDPBare) Run(frame []byte, repeat, batch int) (uint64, error) {
	if err := checkLiveRun(len(frame), repeat, batch, b.maxFrame); err != nil {
		return 0, fmt.Errorf("bare xdp program: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, ErrClosed
	}
	var before, after uint64
	if err := b.frames.Get(&before); err != nil {
		return 0, fmt.Errorf("bare xdp program: read frames: %w", err)
	}
	_, err := b.prog.Run(&ebpf.RunOptions{
		Data:      frame,
		Repeat:    uint32(repeat),
		Flags:     unix.BPF_F_TEST_XDP_LIVE_FRAMES,
		BatchSize: uint32(batch),
	})
	if gerr := b.frames.Get(&after); gerr != nil {
		return 0, errors.Join(err, fmt.Errorf("bare xdp program: read frames: %w", gerr))
	}
	if err != nil {
		return after - before, fmt.Errorf("bpf_prog_run %s (live frames, repeat %d, batch %d): %w", XDPBareProgramName, repeat, batch, err)
	}
	return after - before, nil
}

// Close waits for running calls and frees the program. It is idempotent.
func (b *XDPBare) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	return errors.Join(b.anchor.close(), b.prog.Close())
}

// checkLiveRun checks the arguments of a live-frames call.
func checkLiveRun(frame, repeat, batch, maxFrame int) error {
	if repeat < 1 || repeat > math.MaxUint32 {
		return fmt.Errorf("repeat %d out of range [1, %d]", repeat, uint32(math.MaxUint32))
	}
	if batch < 0 || batch > MaxLiveBatch {
		return fmt.Errorf("batch %d out of range [0, %d]", batch, MaxLiveBatch)
	}
	if frame > maxFrame {
		return fmt.Errorf("frame of %d bytes above the %d live frames take on this kernel", frame, maxFrame)
	}
	return nil
}
