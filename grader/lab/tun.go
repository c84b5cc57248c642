package lab

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/wirelab/wirelab/grader/sandbox"
)

// tunConfig describes one end of the wire: a TUN device in a namespace.
type tunConfig struct {
	name     string
	mtu      int
	local    net.IP    // this end's address (/32)
	remote   net.IPNet // what is reached through the device
	initCwnd int       // the route's initcwnd; 0 for the kernel's default
}

// openTUN creates a TUN device (IFF_TUN|IFF_NO_PI: raw IP packets, each behind
// a virtio-net header, with TCP segmentation and checksum offload: see
// offload.go) in the calling thread's namespace and configures it: IPv6 off (no router
// solicitations on the wire), MTU, a long transmit queue (at the default 500
// the device itself drops packets under load), the address, up, and a route to
// the far side. The returned file is non-blocking, so reads use Go's poller.
func openTUN(cfg tunConfig) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("%w: open /dev/net/tun: %v", ErrNoTUN, err)
		}
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(cfg.name)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: TUNSETIFF %s: %v", ErrNoTUN, cfg.name, err)
	}
	// Without offloads (a kernel that refuses them) the wire still works,
	// one packet per read: the frames then never hold super-packets.
	_ = unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, tunOffloadCsum|tunOffloadTSO4|tunOffloadTSOECN)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "tun:"+cfg.name)
	if err := configureTUN(cfg); err != nil {
		f.Close()
		return nil, fmt.Errorf("configure %s: %w", cfg.name, err)
	}
	return f, nil
}

func configureTUN(cfg tunConfig) error {
	if err := sandbox.SetSysctl("net.ipv6.conf."+cfg.name+".disable_ipv6", "1"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	link, err := netlink.LinkByName(cfg.name)
	if err != nil {
		return err
	}
	if err := netlink.LinkSetMTU(link, cfg.mtu); err != nil {
		return err
	}
	if err := netlink.LinkSetTxQLen(link, 10000); err != nil {
		return err
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: cfg.local, Mask: net.CIDRMask(32, 32)}}
	if err := netlink.AddrAdd(link, addr); err != nil {
		return err
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return err
	}
	remote := cfg.remote
	return netlink.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Dst: &remote, Src: cfg.local, Scope: netlink.SCOPE_LINK,
		InitCwnd: cfg.initCwnd})
}
