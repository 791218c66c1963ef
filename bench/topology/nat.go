package topology

import (
	"errors"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/netns"
)

// masquerade makes n masquerade everything it forwards out of oif, with one
// nftables rule (table inet vethbench, chain postrouting, type nat):
//
//	oifname "<oif>" masquerade
//
// The rule lives in a namespace vethbench made and dies with it.
func masquerade(n *netns.NS, oif string) error {
	c, err := nftables.New(nftables.WithNetNSFd(n.Fd()))
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	defer c.CloseLasting()
	table := c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: "vethbench"})
	chain := c.AddChain(&nftables.Chain{
		Name: "postrouting", Table: table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
	})
	name := make([]byte, unix.IFNAMSIZ)
	copy(name, oif)
	c.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: name},
		&expr.Masq{},
	}})
	if err := c.Flush(); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EPROTONOSUPPORT) {
			return unsupported("kernel has no nftables NAT (nf_tables, nft_masq): %v", err)
		}
		return fmt.Errorf("install masquerade rule: %w", err)
	}
	return nil
}
