// Package traffic owns vethbench's traffic: the generators, each a
// Generator the runner runs for a window or, tagging the windows (Tagger),
// across back-to-back windows, and what receives their traffic.
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
// It also owns the wire format the datagram generators share with the BPF
// counters (Header, Encode, Decode: the first HeaderLen bytes of every UDP
// payload, magic "VBP", the window tag, a sequence number per flow and tag
// and a CLOCK_MONOTONIC send time) and the frame-size arithmetic (PayloadLen, MinFrame,
// MaxFrame: Ethernet header to payload, without FCS). Every generator
// counts what the kernel accepted (Sent); the datagram generators are
// Taggers too, stamping the tag the runner sets and counting per tag
// (SentTagged), as UDPReceiver counts per tag (Tagged). Every generator
// reports CPUTime, the CPU clock
// of its own threads, so that a result can say whether the generator
// saturated; receivers report theirs too. With a Rate, senders are open
// loop: a packet is due at its time whatever happened to the ones before
// it, so a stall shows as latency and lag, not as load never offered.
// Every loop runs on a goroutine locked to its own thread (pinned to a CPU
// when the config says so: one of AllowedCPUs, the process's affinity
// mask, never a CPU taskset or a cpuset took away), and GOMAXPROCS is raised by one per such thread
// while it runs. How and why the generators are built this way, and what
// they were measured at, is in docs/generators.md.
//
// Privileges: sending and receiving need none. Opening the sockets inside a
// namespace (a non-nil *netns.NS) needs what entering it needs,
// CAP_SYS_ADMIN; sockets are created inside netns.Do and used from any
// goroutine. A receive buffer above net.core.rmem_max needs CAP_NET_ADMIN
// (SO_RCVBUFFORCE), without which the kernel caps it, as EffectiveRcvbuf
// shows. The xdp generator needs what package vbpf needs: root.
//
// Errors: configuration errors wrap ErrInvalid and name the field, before
// anything is opened. Errors wrapping ErrNotSupported name what the kernel
// lacks (UDP GSO, live XDP frames); XDPSender fails with vbpf.ErrNoXDPXmit
// when the sending veth's peer runs no NAPI, and ResolveL2 with ErrNoL2Path
// when the namespace's tables hold no route, Ethernet device or static
// neighbour entry for the destination. Run returns nil when its context
// is done, ErrClosed when Close stopped it and ErrRunning if another Run of
// the same object is in progress; other errors mean a broken socket: a
// TCPSender's Run fails with ECONNRESET or EPIPE, a TCP RRClient's when the
// server closes the connection, while TCPSink and RRServer drop a
// connection its peer closed and go on. Errors the kernel reports for single
// sends (ENOBUFS, ECONNREFUSED, EAGAIN, EPERM, EMSGSIZE) are counted by
// errno name in Errors and do not stop Run. Decode returns ErrNotVethbench
// for a payload without the header.
package traffic
