package topology

import (
	"fmt"
	"net/netip"
)

// Addresses live only inside the topology's own namespaces, which have no
// route to anything else: subnet i is 10.231.i.0/24, or
// fd00:7665:7468:i::/64 ("veth" in the ULA range) for IPv6.
func (b *builder) addr(subnet, host int) netip.Prefix {
	if b.t.Spec.Family == IPv6 {
		return netip.MustParsePrefix(fmt.Sprintf("fd00:7665:7468:%x::%x/64", subnet, host))
	}
	return netip.MustParsePrefix(fmt.Sprintf("10.231.%d.%d/24", subnet, host))
}

// Host numbers within a subnet.
const (
	hostSender   = 1
	hostReceiver = 2
	hostGateway  = 254
)
