package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Reading /proc/net/tcp. See "Reading the kernel's socket table" in the brief.
//
// A row, after the header line:
//
//	   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 31337 1 ...
//	  sl  local         remote        st tx_queue:rx_queue tr:tm->when retrnsmt   uid  timeout inode
//
// The first ten fields are always there; how many follow depends on the state.

// stateNames are the TCP states, indexed by the kernel's code (the st column).
var stateNames = [...]string{
	0x01: "ESTABLISHED",
	0x02: "SYN_SENT",
	0x03: "SYN_RECV",
	0x04: "FIN_WAIT1",
	0x05: "FIN_WAIT2",
	0x06: "TIME_WAIT",
	0x07: "CLOSE",
	0x08: "CLOSE_WAIT",
	0x09: "LAST_ACK",
	0x0A: "LISTEN",
	0x0B: "CLOSING",
}

// socket is one row of the table.
type socket struct {
	state  string
	local  netip.AddrPort
	remote netip.AddrPort
	inode  uint64
}

// readTable reads an IPv4 table such as /proc/net/tcp. A row that cannot be
// read is an error that names the file and the line.
func readTable(path string) ([]socket, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	defer f.Close()

	var socks []socket
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		if n == 1 && strings.HasPrefix(strings.TrimSpace(sc.Text()), "sl") {
			continue // the header
		}
		s, err := parseRow(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		socks = append(socks, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %v", path, n+1, err)
	}
	return socks, nil
}

// parseRow reads one row of /proc/net/tcp.
func parseRow(line string) (socket, error) {
	var s socket
	f := strings.Fields(line)
	if len(f) < 10 {
		return s, fmt.Errorf("%d fields, want at least 10 (sl through inode)", len(f))
	}
	if sl, ok := strings.CutSuffix(f[0], ":"); !ok || !isDigits(sl, 10) {
		return s, fmt.Errorf("slot %q: want a number and a colon", f[0])
	}
	var err error
	if s.local, err = parseEndpoint(f[1]); err != nil {
		return s, fmt.Errorf("local_address %q: %v", f[1], err)
	}
	if s.remote, err = parseEndpoint(f[2]); err != nil {
		return s, fmt.Errorf("rem_address %q: %v", f[2], err)
	}
	code, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil || code == 0 || code >= uint64(len(stateNames)) {
		return s, fmt.Errorf("st %q is not a TCP state code (01 to 0B)", f[3])
	}
	s.state = stateNames[code]
	switch {
	case !isHexPair(f[4]):
		return s, fmt.Errorf("tx_queue:rx_queue %q: want two hex numbers", f[4])
	case !isHexPair(f[5]):
		return s, fmt.Errorf("tr:tm->when %q: want two hex numbers", f[5])
	case !isDigits(f[6], 16):
		return s, fmt.Errorf("retrnsmt %q is not a hex number", f[6])
	case !isDigits(f[7], 10):
		return s, fmt.Errorf("uid %q is not a number", f[7])
	case !isDigits(strings.TrimPrefix(f[8], "-"), 10):
		return s, fmt.Errorf("timeout %q is not a number", f[8])
	}
	if s.inode, err = strconv.ParseUint(f[9], 10, 64); err != nil { // decimal, unlike the rest
		return s, fmt.Errorf("inode %q is not a number", f[9])
	}
	return s, nil
}

// parseEndpoint reads an IPv4 ADDRESS:PORT: 8 hex digits, a colon, a hex port.
//
// The address is the 32-bit value as the machine stores it: on a little-endian
// machine 0100007F is 127.0.0.1.
//
// TODO(task 1): /proc/net/tcp6 writes an IPv6 address as 32 hex digits: four
// 32-bit words, each stored the same way. Which bytes go where?
func parseEndpoint(field string) (netip.AddrPort, error) {
	addrHex, portHex, ok := strings.Cut(field, ":")
	if !ok {
		return netip.AddrPort{}, errors.New("want ADDRESS:PORT")
	}
	if len(addrHex) != 8 || !isDigits(addrHex, 16) {
		return netip.AddrPort{}, fmt.Errorf("address %q: want 8 hex digits", addrHex)
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q: want a hex number up to FFFF", portHex)
	}
	v, _ := strconv.ParseUint(addrHex, 16, 32)
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(v))
	return netip.AddrPortFrom(netip.AddrFrom4(b), uint16(port)), nil
}

// isHexPair reports whether s is two hex numbers separated by a colon.
func isHexPair(s string) bool {
	a, b, ok := strings.Cut(s, ":")
	return ok && isDigits(a, 16) && isDigits(b, 16)
}

// isDigits reports whether s is a non-empty string of digits in base 10 or 16.
func isDigits(s string, base int) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		ok := '0' <= c && c <= '9' || base == 16 && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')
		if !ok {
			return false
		}
	}
	return true
}
