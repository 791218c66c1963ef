package traffic

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/netns"
)

// PacketConfig describes the traffic of a PacketSender: complete Ethernet
// frames carrying UDP datagrams, written into an AF_PACKET TX ring on the
// sender's device. It is plain data: Validate needs no privileges.
type PacketConfig struct {
	// Path is where the frames leave and whom they are addressed to,
	// from ResolveL2; Path.Src is their IP source address.
	Path        L2Path
	Dst         netip.Addr
	DstPort     uint16
	SrcPortBase uint16 // flow i uses source port SrcPortBase+i
	Flows       int    // distinct 5-tuples, each with its own sequence numbers from 0
	// FrameSize counts bytes from the Ethernet header to the end of the
	// UDP payload, without FCS.
	FrameSize int
	// MTU of the path, which bounds FrameSize; 0 means DefaultMTU.
	// NewPacketSender also checks FrameSize against the device's MTU.
	MTU int
	// Rate is the total frames per second over all flows, open loop as
	// for UDPConfig; 0 sends as fast as possible.
	Rate float64
	// Batch is the number of frames per kick (one send call); 0 means
	// DefaultBatch.
	Batch int
	// Workers and CPUs as in UDPConfig: worker w sends flows w,
	// w+Workers... from its own socket and ring, pinned to
	// CPUs[w % len(CPUs)] when CPUs is not empty.
	Workers int
	CPUs    []int
	// QdiscBypass hands frames straight to the device's driver
	// (PACKET_QDISC_BYPASS), skipping its qdisc, as trafgen does.
	QdiscBypass bool
}

// IPv6 reports whether the configured traffic is IPv6.
func (c PacketConfig) IPv6() bool { return c.Dst.Unmap().Is6() }

func (c PacketConfig) withDefaults() PacketConfig {
	c.Dst = c.Dst.Unmap()
	c.Path.Src = c.Path.Src.Unmap()
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	if c.Workers == 0 {
		c.Workers = 1
	}
	return c
}

// udp is the UDPConfig with the same traffic, whose Validate checks the
// fields the two share.
func (c PacketConfig) udp() UDPConfig {
	return UDPConfig{
		Src: c.Path.Src, Dst: c.Dst, DstPort: c.DstPort, SrcPortBase: c.SrcPortBase,
		Flows: c.Flows, FrameSize: c.FrameSize, Rate: c.Rate, Batch: c.Batch,
		Workers: c.Workers, CPUs: c.CPUs, MTU: c.MTU,
	}
}

// Validate checks the configuration and returns an error wrapping
// ErrInvalid that names the first bad field.
func (c PacketConfig) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
	}
	c = c.withDefaults()
	p := c.Path
	if p.Ifindex <= 0 || p.Ifname == "" {
		return bad("Path: need the sending device's name and index (from ResolveL2), have %q and %d", p.Ifname, p.Ifindex)
	}
	if len(p.SrcMAC) != 6 || len(p.DstMAC) != 6 {
		return bad("Path: need 6-byte source and destination MAC addresses, have %v and %v", p.SrcMAC, p.DstMAC)
	}
	if !p.Src.IsValid() || p.Src.IsUnspecified() {
		return bad("Path.Src %v: need the source address the frames carry", p.Src)
	}
	if c.Dst.IsValid() && p.Src.Is4() != c.Dst.Is4() {
		return bad("Path.Src %v and Dst %v are of different IP families", p.Src, c.Dst)
	}
	if err := c.udp().Validate(); err != nil {
		return err
	}
	if c.FrameSize > math.MaxUint16 {
		// The virtio-net header's hdr_len, which makes the kernel copy
		// the whole frame, has 16 bits.
		return bad("FrameSize %d above the packet generator's maximum %d", c.FrameSize, math.MaxUint16)
	}
	return nil
}

// The TX ring: TPACKET_V2 slots, each a tpacket2_hdr, a virtio_net_hdr and
// the frame. (V3 gives receive rings their block-wise delivery; its TX
// path is V2's with a larger header and no gain.)
const (
	// tpDataOff is where a V2 TX slot's data starts without
	// PACKET_TX_HAS_OFF: TPACKET2_HDRLEN - sizeof(struct sockaddr_ll).
	tpDataOff = 32
	// vnetHdrLen is sizeof(struct virtio_net_hdr).
	vnetHdrLen = 10
	// frameOff is where the Ethernet frame starts in a slot.
	frameOff = tpDataOff + vnetHdrLen
	// minSlot keeps slots on whole cache lines.
	minSlot = 128
)

// ringFullWait is how long a worker whose ring is full of frames a queue
// holds sleeps before looking again.
const ringFullWait = 50 * time.Microsecond

// Offsets into tpacket2_hdr.
const (
	tpStatusOff = 0
	tpLenOff    = 4
)

// tpNotTaken are the statuses of a slot the kernel did not transmit: still
// waiting for it, or refused as malformed.
const tpNotTaken = unix.TP_STATUS_SEND_REQUEST | unix.TP_STATUS_WRONG_FORMAT

// PacketSender injects complete frames at layer 2 into the sender's
// device through AF_PACKET sockets with a TX ring, one socket and ring per
// worker. The frames skip the sender's IP and UDP stack; the receiver's
// stack sees ordinary UDP datagrams carrying the vethbench header.
type PacketSender struct {
	span    sendSpan // the last Run's sending time
	cfg     PacketConfig
	layout  FrameLayout
	frame   []byte   // flow 0's frame: every slot starts as a copy
	heads   [][]byte // per flow: its UDP header and vethbench header
	workers []*packetWorker

	lag  lagMeter
	cpuT cpuMeter
	errs errnoCounts
	tag  tagSet

	state runState
}

var (
	_ Generator = (*PacketSender)(nil)
	_ Tagger    = (*PacketSender)(nil)
)

// packetWorker is one sending goroutine with its own socket and ring.
type packetWorker struct {
	s     *PacketSender
	fd    int
	ring  []byte   // the mmap'ed TX ring
	slot  int      // bytes per slot, a power of two
	mask  uint32   // slots-1
	head  uint32   // next slot to fill; always equal to the kernel's ring head
	tail  uint32   // oldest slot the kernel took and has not been seen completing
	flows []int    // the flows it sends
	tag   uint8    // the tag its sequence numbers belong to
	seq   []uint32 // next sequence number of each of its flows, under tag
	rate  float64  // frames/s of this worker; 0: unlimited
	cpu   int      // pinned to this CPU; -1: not pinned
	clock monoClock
	stop  *atomic.Bool // the current Run's

	sent   atomic.Uint64
	tagged tagCounts
	_      [56]byte // keep the hot counters of two workers off one cache line
}

// NewPacketSender validates cfg and opens one AF_PACKET socket with a TX
// ring per worker inside ns (nil: the current namespace), bound to
// cfg.Path's device. The sockets are bound with protocol 0 and so receive
// nothing. The caller closes the sender.
func NewPacketSender(ns *netns.NS, cfg PacketConfig) (*PacketSender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &PacketSender{cfg: cfg, layout: Layout(cfg.IPv6())}
	for i := range cfg.Flows {
		f, err := BuildFrame(FrameSpec{
			SrcMAC: cfg.Path.SrcMAC, DstMAC: cfg.Path.DstMAC,
			Src:       netip.AddrPortFrom(cfg.Path.Src, cfg.SrcPortBase+uint16(i)),
			Dst:       netip.AddrPortFrom(cfg.Dst, cfg.DstPort),
			FrameSize: cfg.FrameSize,
		})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		if i == 0 {
			s.frame = f
		}
		// Flows differ only in the UDP header (port, checksum).
		s.heads = append(s.heads, f[s.layout.L4:s.layout.Payload+HeaderLen])
	}
	if err := checkDevice(ns, cfg); err != nil {
		return nil, err
	}
	for w := range cfg.Workers {
		k := &packetWorker{s: s, fd: -1, rate: cfg.Rate / float64(cfg.Workers), cpu: -1}
		if cpus := cfg.CPUs; len(cpus) > 0 {
			k.cpu = cpus[w%len(cpus)]
		}
		for f := w; f < cfg.Flows; f += cfg.Workers {
			k.flows = append(k.flows, f)
		}
		k.seq = make([]uint32, len(k.flows))
		s.workers = append(s.workers, k)
	}
	open := func() error {
		for w, k := range s.workers {
			if err := k.open(); err != nil {
				return fmt.Errorf("worker %d: %w", w, err)
			}
		}
		return nil
	}
	if err := ns.Do(open); err != nil {
		s.Close()
		return nil, fmt.Errorf("packet socket on %s: %w", cfg.Path.Ifname, err)
	}
	return s, nil
}

// checkDevice makes sure the path's device exists in ns under that name and
// that a frame fits its MTU: the TX ring path with a virtio-net header does
// not check the MTU, and a too large frame would be dropped by the peer.
func checkDevice(ns *netns.NS, cfg PacketConfig) error {
	h, err := ns.NetlinkHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByIndex(cfg.Path.Ifindex)
	if err != nil {
		return fmt.Errorf("device %s (ifindex %d): %w", cfg.Path.Ifname, cfg.Path.Ifindex, err)
	}
	a := l.Attrs()
	if a.Name != cfg.Path.Ifname {
		return fmt.Errorf("%w: Path: ifindex %d is %s, not %s, in the sender's namespace", ErrInvalid, a.Index, a.Name, cfg.Path.Ifname)
	}
	if most := MaxFrame(a.MTU); cfg.FrameSize > most {
		return fmt.Errorf("%w: FrameSize %d above the maximum %d for %s's MTU %d", ErrInvalid, cfg.FrameSize, most, a.Name, a.MTU)
	}
	return nil
}

// ringGeometry returns the slot size (a power of two, so slots never span
// the ring's blocks and stay cache-line aligned), the number of slots (a
// power of two, twice the batch so that a batch the kernel still holds
// does not stop the next one) and the block size for frames of frameSize.
func ringGeometry(frameSize, batch int) (slot, slots, block int) {
	slot = minSlot
	for slot < frameOff+frameSize {
		slot <<= 1
	}
	block = max(os.Getpagesize(), slot)
	slots = 1
	for slots < 2*batch {
		slots <<= 1
	}
	slots = max(slots, block/slot)
	return slot, slots, block
}

// open creates the worker's socket and ring; it runs inside the sender's
// namespace. The frame is wholly copied into the socket buffer (the
// virtio-net header's hdr_len covers it): without that the kernel attaches
// the ring's pages to the packet, and veth, which must not pass on memory
// the sender will rewrite, copies them into a freshly allocated page per
// packet (skb_orphan_frags); the linear copy is cheaper.
func (k *packetWorker) open() error {
	s := k.s
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	k.fd = fd
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return fmt.Errorf("set TPACKET_V2: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
		return fmt.Errorf("set PACKET_VNET_HDR: %w", err)
	}
	if s.cfg.QdiscBypass {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
			return fmt.Errorf("set PACKET_QDISC_BYPASS: %w", err)
		}
	}
	slot, slots, block := ringGeometry(s.cfg.FrameSize, s.cfg.Batch)
	// A send buffer for a full ring of frames in flight (an skb's
	// truesize is the frame plus well under 2 KiB), so that the ring,
	// not the buffer, bounds what a queue may hold of ours.
	sndbuf := slots * (s.cfg.FrameSize + 2048)
	err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sndbuf)
	if errors.Is(err, unix.EPERM) {
		err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, sndbuf)
	}
	if err != nil {
		return fmt.Errorf("set SO_SNDBUF %d: %w", sndbuf, err)
	}
	req := unix.TpacketReq{
		Block_size: uint32(block),
		Block_nr:   uint32(slots * slot / block),
		Frame_size: uint32(slot),
		Frame_nr:   uint32(slots),
	}
	if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_TX_RING, &req); err != nil {
		return fmt.Errorf("set PACKET_TX_RING %+v: %w", req, err)
	}
	ring, err := unix.Mmap(fd, 0, slots*slot, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap TX ring of %d bytes: %w", slots*slot, err)
	}
	k.ring, k.slot, k.mask = ring, slot, uint32(slots-1)
	for i := range slots {
		d := ring[i*slot:]
		binary.NativeEndian.PutUint32(d[tpLenOff:], uint32(vnetHdrLen+s.cfg.FrameSize))
		// virtio_net_hdr: no offloads; hdr_len, in the host's byte
		// order (legacy virtio), is the whole frame.
		binary.NativeEndian.PutUint16(d[tpDataOff+2:], uint16(s.cfg.FrameSize))
		copy(d[frameOff:], s.frame)
	}
	sll := unix.SockaddrLinklayer{Protocol: 0, Ifindex: s.cfg.Path.Ifindex}
	if err := unix.Bind(fd, &sll); err != nil {
		return fmt.Errorf("bind to ifindex %d: %w", s.cfg.Path.Ifindex, err)
	}
	return nil
}

// status is the status word of slot i (a ring position, masked here).
func (k *packetWorker) status(i uint32) *uint32 {
	return (*uint32)(unsafe.Pointer(&k.ring[int(i&k.mask)*k.slot+tpStatusOff]))
}

// Config returns the configuration with defaults filled in.
func (s *PacketSender) Config() PacketConfig { return s.cfg }

// Sent is the number of frames the kernel took from the ring and handed to
// the device (or its qdisc). On veth without a queueing qdisc a frame has
// completed (its slot come back) when the kick returns; a frame a queue
// holds is counted when the queue takes it, as UDPSender counts a datagram
// its socket accepted. A frame that a device or qdisc then dropped was
// sent and is counted (the device counters and the drop tracepoint
// account for it); a frame the kernel refused is not. It may be read while
// Run runs.
func (s *PacketSender) Sent() uint64 {
	var n uint64
	for _, k := range s.workers {
		n += k.sent.Load()
	}
	return n
}

// SentBytes is FrameSize * Sent, comparable with a device's byte counters.
func (s *PacketSender) SentBytes() uint64 { return s.Sent() * uint64(s.cfg.FrameSize) }

// Errors returns the errors of the kicks by errno name: ENOBUFS (a device
// or qdisc dropped a frame as it was sent; counted as sent), ETIMEDOUT
// (frames stayed in a queue longer than the send timeout), EAGAIN (the
// socket's send buffer stayed full), EINVAL or EMSGSIZE (a refused
// frame), ENETDOWN...
func (s *PacketSender) Errors() map[string]uint64 { return s.errs.snapshot() }

// MaxLag is how far behind its schedule a rate-limited sender fell at
// worst, over all Runs; 0 for an unlimited rate.
func (s *PacketSender) MaxLag() time.Duration { return s.lag.max() }

// CPUTime is the CPU time the workers' threads used during all Runs,
// softirq work on them included. It may be read while Run is running.
func (s *PacketSender) CPUTime() time.Duration { return s.cpuT.total() }

// SetTag makes the frames sent from now on carry tag (see Tagger).
func (s *PacketSender) SetTag(tag uint8) { s.tag.set(tag) }

// SentTagged counts the frames sent carrying tag (see Tagger).
func (s *PacketSender) SentTagged(tag uint8) uint64 {
	return sumTagged(s.workers, func(k *packetWorker) *tagCounts { return &k.tagged }, tag)
}

// Threads is the number of workers.
func (s *PacketSender) Threads() int { return len(s.workers) }

// Run sends until ctx is done, then returns nil, within a few milliseconds
// of the cancellation (no call it makes blocks; its sleeps are at most
// 5 ms), or ErrClosed when Close stopped it. Errors of single kicks
// are counted in Errors; Run returns an error only for a broken socket or
// a device that went away. Run may be called again; counters and sequence
// numbers continue, the rate schedule starts afresh.
func (s *PacketSender) Run(ctx context.Context) error {
	stop, end, err := s.state.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	defer reserveProcs(len(s.workers))() // see procs.go
	clock := newMonoClock()
	s.span.reset()
	if err := runWorkers(len(s.workers), stop, func(i int) error { return s.workers[i].run(clock, stop) }); err != nil {
		return err
	}
	return s.state.closedErr()
}

// run is one worker's Run, on its pinned thread.
func (k *packetWorker) run(clock monoClock, stop *atomic.Bool) error {
	k.clock, k.stop = clock, stop
	unpin, err := pin(k.cpu)
	if err != nil {
		return err
	}
	defer unpin()
	k.s.cpuT.begin()
	defer k.s.cpuT.end()
	k.s.span.begin()
	defer k.s.span.end()
	return k.loop()
}

// SendTime is how long the last Run sent: from the first worker starting
// its send loop to the last one leaving it, without the Run's own start
// and end.
func (s *PacketSender) SendTime() time.Duration { return s.span.get() }

// loop paces kicks on the open-loop schedule (see schedule), in frames.
func (k *packetWorker) loop() error {
	most := k.s.cfg.Batch
	batch := quantumBatch(k.rate, most)
	sch := newSchedule(k.rate, k.clock.now(), &k.s.lag)
	flow := 0
	for !k.stop.Load() {
		b, wait := sch.next(k.clock.now(), batch, most)
		if wait > 0 {
			k.sleep(wait)
			continue
		}
		put, taken, err := k.kick(flow, b)
		if err != nil {
			return err
		}
		if put == 0 {
			// The ring is full of frames a queue still holds: wait
			// for some to complete, without moving the schedule.
			k.sleep(ringFullWait)
			continue
		}
		if taken == 0 {
			// The kernel refused them all (a full send buffer, a
			// device down): back off rather than spin.
			k.sleep(minSleep)
		}
		// What the ring had no room for is still due; what the kernel
		// refused is not sent again, as with UDPSender.
		sch.advance(put)
		if flow++; flow == len(k.flows) {
			flow = 0
		}
	}
	return nil
}

// sleep waits for d or until Run is stopped, like worker.sleep.
func (k *packetWorker) sleep(d time.Duration) { sleepFor(d, k.stop) }

// kick writes up to b frames of flow (its index among the worker's flows)
// into the ring, stamped with the flow's next sequence numbers and one
// timestamp, hands them to the kernel with one send and accounts for what
// the kernel did with them. It returns how many frames it put in the ring
// (0 if the ring was full) and how many of them the kernel sent; only an
// error that makes the socket unusable is returned.
//
// The send does not wait for the frames to complete (MSG_DONTWAIT): on
// veth without a queueing qdisc they complete within the call anyway, and
// behind a queue that holds them (tbf, netem) a waiting send would wait
// for the queue to drain them all, which SO_SNDTIMEO does not bound (it
// bounds each wait for the next completion), and make the sender closed
// loop. Frames in flight are bounded by the ring instead.
func (k *packetWorker) kick(flow, b int) (put, taken int, err error) {
	k.reap()
	b = min(b, int(k.mask+1-(k.head-k.tail)))
	if b == 0 {
		return 0, 0, nil
	}
	s := k.s
	l := s.layout
	if tag := s.tag.get(); tag != k.tag {
		k.tag = tag
		clear(k.seq) // every flow starts again at 0 under a new tag
	}
	head := s.heads[k.flows[flow]]
	seq := k.seq[flow]
	ts := uint64(k.clock.now())
	for i := range b {
		at := int((k.head+uint32(i))&k.mask) * k.slot
		f := k.ring[at+frameOff : at+frameOff+s.cfg.FrameSize]
		copy(f[l.L4:], head)
		StampFrame(f, l, k.tag, seq+uint32(i), ts)
		atomic.StoreUint32(k.status(k.head+uint32(i)), unix.TP_STATUS_SEND_REQUEST)
	}
	_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(k.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		s.errs.add(e)
	}
	// The kernel takes slots in order from its head (ours) and stops at
	// the first it cannot send.
	end := k.head + uint32(b)
	for k.head != end && atomic.LoadUint32(k.status(k.head))&tpNotTaken == 0 {
		k.head++
	}
	taken = b - int(end-k.head)
	if k.head != end {
		if e == unix.ENOBUFS && atomic.LoadUint32(k.status(k.head))&unix.TP_STATUS_WRONG_FORMAT == 0 {
			// The device or its qdisc dropped this frame as it was
			// sent (veth's tx_dropped, a qdisc or tc drop) and
			// tpacket_snd, seeing the slot already released, offers
			// it again. It was sent, and its drop is in the kernel's
			// counters: count it, and send new frames there. (Only a
			// failed skb allocation with nothing sent before it, which
			// needs the kernel out of memory, returns ENOBUFS too.)
			taken++
		}
		// The slots not taken go back to us; the next kick refills
		// them from the kernel's head on.
		for i := k.head; i != end; i++ {
			atomic.StoreUint32(k.status(i), unix.TP_STATUS_AVAILABLE)
		}
	}
	k.seq[flow] += uint32(taken)
	k.sent.Add(uint64(taken))
	k.tagged[k.tag].Add(uint64(taken))
	k.reap()
	switch e {
	case unix.EBADF, unix.EFAULT, unix.ENOTSOCK, unix.ENXIO, unix.EBUSY:
		// ENXIO: the bound device is gone; EBUSY: the ring is.
		return b, taken, fmt.Errorf("send on packet socket %d: %w", k.fd, e)
	}
	return b, taken, nil
}

// reap takes back the slots of the frames the kernel completed, in ring
// order.
func (k *packetWorker) reap() {
	for k.tail != k.head && atomic.LoadUint32(k.status(k.tail))&unix.TP_STATUS_SENDING == 0 {
		k.tail++
	}
}

// Close stops a running Run (which then returns ErrClosed), waits for it
// and releases the rings and sockets. Close is idempotent.
func (s *PacketSender) Close() error {
	if !s.state.close() {
		return nil
	}
	var errs []error
	for _, k := range s.workers {
		if k.ring != nil {
			if err := unix.Munmap(k.ring); err != nil {
				errs = append(errs, fmt.Errorf("unmap TX ring: %w", err))
			}
			k.ring = nil
		}
		if k.fd >= 0 {
			if err := unix.Close(k.fd); err != nil {
				errs = append(errs, fmt.Errorf("close packet socket: %w", err))
			}
			k.fd = -1
		}
	}
	return errors.Join(errs...)
}
