//go:build !linux

package ctl

import (
	"errors"
	"net"
)

// peerCred is implemented for Linux only; elsewhere every peer is refused
// rather than served unchecked.
func peerCred(*net.UnixConn) (uid uint32, pid int32, err error) {
	return 0, 0, errors.New("SO_PEERCRED is not supported on this platform")
}

// peerClosed cannot probe without blocking here; a dead connection then
// fails its next request instead of being replaced first.
func peerClosed(net.Conn) bool { return false }
