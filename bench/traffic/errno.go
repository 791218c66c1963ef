package traffic

import (
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// errnoCounts counts system call errors by errno without allocating:
// Linux errnos are below 134, and any above the table share its last slot.
type errnoCounts [256]atomic.Uint64

func (c *errnoCounts) add(e unix.Errno) {
	i := int(e)
	if i <= 0 || i >= len(c) {
		i = len(c) - 1
	}
	c[i].Add(1)
}

// snapshot returns the non-zero counts keyed by errno name (ENOBUFS, ...).
func (c *errnoCounts) snapshot() map[string]uint64 {
	m := make(map[string]uint64)
	for i := 1; i < len(c); i++ {
		n := c[i].Load()
		if n == 0 {
			continue
		}
		name := unix.ErrnoName(unix.Errno(i))
		if i == len(c)-1 {
			name = "other"
		} else if name == "" {
			name = fmt.Sprintf("errno %d", i)
		}
		m[name] += n
	}
	return m
}
