package ctl

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// peerCred returns the uid and pid of the process at the other end of a Unix
// socket, as the kernel recorded them at connect time (SO_PEERCRED): the
// client cannot forge them.
func peerCred(c *net.UnixConn) (uid uint32, pid int32, err error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, 0, err
	}
	if credErr != nil {
		return 0, 0, credErr
	}
	return cred.Uid, cred.Pid, nil
}

// peerClosed reports whether the other end has closed an idle connection:
// a non-blocking peek (the poller would refuse a read with an expired
// deadline without asking the kernel) that sees EOF. Data waiting, or
// nothing yet, means the connection is usable.
func peerClosed(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	var buf [1]byte
	if err := raw.Read(func(fd uintptr) bool {
		n, _, rerr := unix.Recvfrom(int(fd), buf[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		closed = n == 0 && rerr == nil || rerr != nil && rerr != unix.EAGAIN && rerr != unix.EINTR
		return true
	}); err != nil {
		return true
	}
	return closed
}
