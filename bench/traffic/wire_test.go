package traffic

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

func TestEncodeDecode(t *testing.T) {
	for _, h := range []Header{{}, {Seq: 1, SendTime: 2}, {Tag: 255, Seq: math.MaxUint32, SendTime: math.MaxUint64}, {Tag: 3, Seq: 0x01020304, SendTime: 0x1122334455667788}} {
		b := make([]byte, 22)
		Encode(b, h)
		got, err := Decode(b)
		if err != nil || got != h {
			t.Errorf("Decode(Encode(%+v)) = %+v, %v", h, got, err)
		}
	}
	// The layout the BPF side parses: magic, tag, then little-endian
	// fields.
	b := make([]byte, HeaderLen)
	Encode(b, Header{Tag: 0xa5, Seq: 0x01020304, SendTime: 0x1122334455667788})
	want := []byte{'V', 'B', 'P', 0xa5, 4, 3, 2, 1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11}
	if !bytes.Equal(b, want) {
		t.Errorf("Encode wrote % x, want % x", b, want)
	}
}

func TestDecodeRejects(t *testing.T) {
	good := make([]byte, HeaderLen)
	Encode(good, Header{Seq: 7})
	for name, b := range map[string][]byte{
		"empty":     nil,
		"short":     good[:HeaderLen-1],
		"bad magic": append([]byte("VBQ\x00"), good[4:]...),
		"zeros":     make([]byte, 64),
	} {
		if _, err := Decode(b); !errors.Is(err, ErrNotVethbench) {
			t.Errorf("%s: Decode error %v, want ErrNotVethbench", name, err)
		}
		if hasMagic(b) {
			t.Errorf("%s: hasMagic true", name)
		}
	}
	if !hasMagic(good) {
		t.Error("hasMagic false on an encoded header")
	}
}

func TestEncodePanicsOnShortBuffer(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Encode into 15 bytes did not panic")
		}
	}()
	Encode(make([]byte, HeaderLen-1), Header{})
}

func TestFrameSizes(t *testing.T) {
	if got := MinFrame(false); got != 58 {
		t.Errorf("MinFrame(IPv4) = %d, want 58", got)
	}
	if got := MinFrame(true); got != 78 {
		t.Errorf("MinFrame(IPv6) = %d, want 78", got)
	}
	if got := MaxFrame(1500); got != 1514 {
		t.Errorf("MaxFrame(1500) = %d, want 1514", got)
	}
	for _, c := range []struct {
		frame   int
		ipv6    bool
		payload int // -1: error
	}{
		{57, false, -1},
		{58, false, 16},
		{64, false, 22},
		{1514, false, 1472},
		{77, true, -1},
		{78, true, 16},
		{64, true, -1},
		{1514, true, 1452},
		{0, false, -1},
		{-1, true, -1},
		{14 + 65535, false, 65507},
		{14 + 65536, false, -1},
		{14 + 40 + 65535, true, 65527},
		{14 + 40 + 65536, true, -1},
	} {
		got, err := PayloadLen(c.frame, c.ipv6)
		if c.payload < 0 {
			if err == nil {
				t.Errorf("PayloadLen(%d, ipv6=%v) = %d, want an error", c.frame, c.ipv6, got)
			}
			continue
		}
		if err != nil || got != c.payload {
			t.Errorf("PayloadLen(%d, ipv6=%v) = %d, %v; want %d", c.frame, c.ipv6, got, err, c.payload)
		}
	}
}
