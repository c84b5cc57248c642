package lab

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Veth addresses: a plain veth pair between the wire's two namespaces, the
// kernel's own link, to compare the wire against (benchmarks).
var (
	VethClientAddr = netip.MustParseAddr("198.18.128.1")
	VethServerAddr = netip.MustParseAddr("198.19.128.1")
)

// AddVeth joins the wire's two namespaces with a veth pair as well (more
// specific /32 routes send traffic for the veth addresses over it). The
// returned function removes it.
func (w *Wire) AddVeth(mtu int) (remove func(), err error) {
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU = "wlv0", mtu
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "wlv1"}); err != nil {
		return nil, fmt.Errorf("lab: veth: %w", err)
	}
	remove = func() {
		if l, err := netlink.LinkByName("wlv0"); err == nil {
			netlink.LinkDel(l) // removes the peer too
		}
	}
	var nsfd int
	err = w.Server.Do(func() (err error) {
		nsfd, err = unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		remove()
		return nil, err
	}
	defer unix.Close(nsfd)
	peer, err := netlink.LinkByName("wlv1")
	if err == nil {
		err = netlink.LinkSetNsFd(peer, nsfd)
	}
	if err == nil {
		err = configureVethEnd("wlv0", mtu, VethClientAddr, VethServerAddr)
	}
	if err == nil {
		err = w.Server.Do(func() error { return configureVethEnd("wlv1", mtu, VethServerAddr, VethClientAddr) })
	}
	if err != nil {
		remove()
		return nil, fmt.Errorf("lab: veth: %w", err)
	}
	return remove, nil
}

func configureVethEnd(name string, mtu int, local, remote netip.Addr) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	if err := netlink.LinkSetMTU(link, mtu); err != nil {
		return err
	}
	host := net.CIDRMask(32, 32)
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: &net.IPNet{IP: local.AsSlice(), Mask: host}}); err != nil {
		return err
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return err
	}
	return netlink.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Scope: netlink.SCOPE_LINK,
		Dst: &net.IPNet{IP: remote.AsSlice(), Mask: host}, Src: local.AsSlice()})
}
