// Package traffic owns vethbench's traffic: the generators, each a
// Generator the runner drives one window at a time, and what receives
// their traffic.
//
//	udp     UDPSender: batched sendmmsg from one connected socket per flow,
//	        optionally UDP GSO (UDP_SEGMENT); UDPReceiver drains with
//	        recvmmsg and checks per-flow sequence numbers.
//	packet  PacketSender: complete frames (BuildFrame) from an AF_PACKET
//	        TX ring into the sender's device, optionally PACKET_QDISC_BYPASS;
//	        ResolveL2 finds the device and next-hop MAC. Same receiver.
//	xdp     XDPSender: vbpf's vb_xdp_gen run with BPF_PROG_RUN live frames
//	        and redirected into the sender's veth. Same receiver.
//	tcp     TCPSender writes bulk data over Flows connections; TCPSink
//	        drains them.
//	rr      RRClient sends requests (open or closed loop) and times the
//	        responses RRServer echoes; round trips in a vbpf.Histogram.
//
// Every generator reports CPUTime, the CPU clock of its own threads, so
// that a result can say whether the generator saturated (see
// result.Bottleneck); receivers report theirs too. The wire format the
// datagram generators share with the BPF counters and the frame-size
// arithmetic (PayloadLen, MinFrame, MaxFrame) are here as well.
//
// # Wire format
//
// The first HeaderLen (16) bytes of every UDP payload, little-endian:
//
//	0..3   magic 'V' 'B' 'P' '1'
//	4..7   sequence number, uint32, per flow (source port), from 0
//	8..15  send time, uint64 nanoseconds of CLOCK_MONOTONIC
//
// and zeros after. The frame size a user asks for counts, like pktgen and
// trafgen and like a veth's rx_bytes, the Ethernet header (14), the IP
// header (20 or 40, no options), the UDP header (8) and the payload,
// without FCS: 58 bytes at least for IPv4, 78 for IPv6, at most MTU+14.
//
// # What the timestamp measures
//
// One timestamp per sendmmsg batch, read just before the call, from
// CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns. A BPF program at the
// receiving device's ingress subtracts it from its own clock: the latency
// covers the sender's UDP/IP transmit path, the veth and any queue in
// front of the hook; the k-th datagram of a batch also carries the time
// the kernel spent on the k-1 before it (about a microsecond each, so up to
// tens of microseconds at 64 per batch; use Batch 1 where that matters).
// The sender reads the clock through Go's monotonic clock (a vDSO call,
// about 30 ns) calibrated once against clock_gettime (about 300 ns as a
// system call here); the calibration error is under a microsecond.
//
// # Rate and coordinated omission
//
// With UDPConfig.Rate set, the sender is open loop: datagram n is due at
// t0 + n/Rate, whatever happened to the ones before it. It sends batches of
// about Rate*100us datagrams (clamped to [1, Batch]), sleeping with
// nanosleep until a batch is due. When it falls behind (a slow send, a
// descheduled thread) it sends everything already due at once, up to Batch
// per call, skipping nothing, so a stall shows as a burst and in MaxLag
// rather than as datagrams silently never sent: a closed loop ("sleep
// 1/rate after each send") would lower the offered load exactly when the
// system is slow and hide the stall from the latency figures. Rate 0
// sends as fast as possible.
//
// # Performance
//
// On veth the receive path (softirq) runs on the sending CPU, so the
// generator is built to add as little as possible to it: preallocated
// mmsghdr/iovec arrays (no allocation per batch), raw sendmmsg and
// recvmmsg, and sockets kept out of Go's netpoller. A socket in an epoll
// set makes the kernel run the epoll callback for every datagram sent or
// received, which on this project's VM cost more than the datapath
// itself; instead the sockets block (with a 10 ms SO_SNDTIMEO/SO_RCVTIMEO
// so cancellation is noticed), and the receiver, while traffic flows,
// drains without blocking and sleeps 50 us between drains, so the sender
// never has to wake it per datagram. One worker saturates one CPU;
// UDPConfig.Workers spreads flows over more goroutines (CPUs). UDP GSO is
// off by default: the device would see one aggregate per send, not the
// per-packet path being measured. With UDPConfig.GSO each message of a
// batch is GSO payloads back to back, each with its own header; on veth
// the aggregate crosses the pair whole and is cut at the receiving socket,
// so the device counts skbs and the BPF counter's Segs the datagrams.
//
// # The xdp generator
//
// XDPSender makes traffic like xdp-trafficgen: vb_xdp_gen run with
// BPF_PROG_RUN in live-frames mode inside the sender's namespace, each
// frame redirected out of the sending device (no socket, qdisc or skb on
// the sending side). Every frame is stamped in BPF (sequence per flow,
// bpf_ktime_get_ns per frame). A veth takes the frames only while its peer
// runs NAPI (GRO on, or an XDP program such as vbpf.AttachXDPSink):
// NewXDPSender and Run check and fail with vbpf.ErrNoXDPXmit; the sender
// never changes the topology (the runner turns GRO on). Rate is open loop
// as for UDP; unlimited calls last ~2 ms each. FrameSize is at most
// vbpf.LiveFrameMax (~3.4 KB).
//
// Accounting: Sent counts frames the program redirected. Frames the veth's
// 256-entry ring cannot take are dropped without an skb: they are the
// sender's tx_dropped and (the same frames) the receiver's rx_dropped, not
// skb:kfree_skb drops. With several workers on one veth queue the kernel
// updates that counter without atomics and may miss bulks of 16; then ring
// drops = Sent - (receiver rx_packets - other traffic). Datagrams built
// from live frames hold a whole page each (truesize ~4.2 KB): a
// full-stack receiver needs a correspondingly large SO_RCVBUF.
//
// # Accounting
//
// Sent counts datagrams the kernel accepted. A datagram that a device
// further along drops (a full backlog, a qdisc, veth's tx_dropped) was
// accepted and stays counted; the receiver sees it as a gap in its flow's
// sequence numbers (SeqGaps), and the device counters say where it went,
// so sent = received + dropped closes. Without IP_RECVERR the kernel does
// not report such drops to the socket.
//
// # Errors
//
// Configuration errors wrap ErrInvalid and name the field, before anything
// is opened. Run returns nil when its context is done, ErrClosed when
// Close stopped it and ErrRunning if another Run of the same object is in
// progress; other errors mean a broken socket. Errors the kernel reports
// for single sends are counted by errno name in Errors and do not stop
// Run: ENOBUFS (no buffer memory, or a local qdisc dropped the datagram),
// ECONNREFUSED (an ICMP port unreachable came back: nothing listens at the
// destination), EAGAIN (the socket's send buffer stayed full for 10 ms),
// EPERM (a firewall rule), EMSGSIZE (a frame above the path MTU). Decode
// returns ErrNotVethbench for a payload without the header.
//
// # Privileges
//
// Sending and receiving need none. Opening the sockets inside a namespace
// (a non-nil *netns.NS) needs what entering it needs, CAP_SYS_ADMIN; a
// receive buffer above net.core.rmem_max needs CAP_NET_ADMIN
// (SO_RCVBUFFORCE), without which the kernel caps it, as EffectiveRcvbuf
// shows. Sockets are created inside netns.Do and used from any goroutine.
package traffic
