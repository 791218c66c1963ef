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
//	        responses RRServer echoes; round trips in a histogram.Histogram.
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
// # Bulk TCP
//
// TCPSender writes on TCPConfig.Flows connections, WriteSize bytes (256 KiB
// by default) per write(2), from Workers threads, as iperf3 does; a
// TCPSink in the receiving namespace accepts the connections and drains
// each with read(2) on a thread of its own. NewTCPSender connects (the
// sink need only be listening: the connections wait in its accept queue)
// and the connections live across windows; a window is one Run. Sent
// counts the bytes write(2) accepted, partial writes included. TCP loses
// nothing, so once the writing has stopped the window's accounting closes:
// TCPSink.Drain waits until the sink has read Sent bytes and
// TCPSender.WaitAcked until TCP_INFO's bytes_acked (less the SYN, which the
// kernel counts as a byte) equals Sent. TCPSender.TCPInfo sums TCP_INFO over
// the connections. The kernel counts segments in MSS units, so a 64 KiB
// TSO/GSO packet counts some 45 times where a device's packet counters
// count it once: the ratio is the aggregation that the GRO/GSO/TSO knobs
// change. MSS sets TCP_MAXSEG, NoDelay TCP_NODELAY.
//
// # Request/response
//
// RRClient sends requests of RRConfig.Size bytes (64 by default) on Flows
// connected UDP sockets or TCP connections (TCP_NODELAY) to an RRServer,
// which sends each back unchanged: for UDP one thread with
// recvmmsg/sendmmsg, for TCP a thread per connection writing back every
// complete request it has read. A request starts with the vethbench
// header, so for UDP the BPF counter at the server's device counts it and
// measures its one-way latency; the response carries the header back, and
// the round trip is its arrival time minus the send time in it, recorded
// in a histogram with the BPF histograms' buckets (RTT).
//
// Closed loop (Rate 0), like sockperf ping-pong and netperf TCP_RR: each
// flow has one request outstanding and sends the next when the response
// is in; the send time is that of the send call. Both sides wait blocked
// in recv(2). Spinning was measured: a spinning client alone gained
// nothing; client and server both spinning cut the UDP median from 12 to
// 7-8 us but on two vCPUs made the p99 and the rate erratic.
//
// Open loop (Rate > 0): request n of a worker is due at t0 + n/rate and
// carries that due time, not the time it actually left; a second thread
// per worker reads the responses, and over TCP the requests pipeline. A
// stall therefore shows as latency in every request that should have been
// sent during it, not as one slow request and a dip in the offered load
// (coordinated omission). The sending thread sets its timer slack to 1 ns,
// sleeps until 50 us before a request is due and spins for the rest:
// nanosleep alone overshoots by 25-40 us in this VM.
//
// Accounting: Sent = Responses + Lost + Outstanding at any time, and the
// histogram holds exactly the Responses. A UDP request is lost when its
// response has not come within Timeout (100 ms by default), when the
// response to a later request of its flow comes first, or when it is still
// unanswered at the end of a Run's drain; a response after that counts as
// Late and stays out of the histogram. Over TCP nothing is lost.
//
// Placement decides the round trip: in this VM a wakeup on another CPU
// costs some 20 us, so a closed-loop round trip is about 12 us with client
// and server on one CPU and 50-70 us on two. The runner pins the client to
// the first CPU and the server to the last, as it does every generator and
// receiver, and make bench-peers pins sockperf the same way.
//
// # Threads and GOMAXPROCS
//
// Every generator and receiver loop runs on a goroutine locked to its own
// thread and blocks in raw system calls. Such a thread keeps its P (the Go
// runtime's right to run Go code) while it is blocked, until the runtime's
// monitor takes it away, which can take 10 ms; a thread that wakes with no
// P free waits that long, and the wait shows up as latency. So every Run
// raises GOMAXPROCS by one per such thread and restores it afterwards
// (procs.go; an rr open loop at 20000/s: median round trip 0.8 ms without,
// 43-95 us with).
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
// returns ErrNotVethbench for a payload without the header. A TCPSender's
// Run fails with ECONNRESET or EPIPE, and a TCP RRClient's when the server
// closes the connection; TCPSink and RRServer drop a connection its peer
// closed and go on. Errors wrapping ErrNotSupported name what the kernel
// lacks (UDP GSO, live XDP frames).
//
// # Privileges
//
// Sending and receiving need none. Opening the sockets inside a namespace
// (a non-nil *netns.NS) needs what entering it needs, CAP_SYS_ADMIN; a
// receive buffer above net.core.rmem_max needs CAP_NET_ADMIN
// (SO_RCVBUFFORCE), without which the kernel caps it, as EffectiveRcvbuf
// shows. Sockets are created inside netns.Do and used from any goroutine.
package traffic
