package ssh

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
)

// ForwardRemote listens on remoteAddr on the host (like ssh -R) and carries
// every connection made there to localAddr on this machine, through the SSH
// connection. Hosts reach a service of the jump host this way even when no
// route leads back to it (a bastion, a firewall). It returns the address
// listened on; the forward ends with ctx or the connection.
func (c *Client) ForwardRemote(ctx context.Context, remoteAddr, localAddr string) (string, error) {
	cn, err := c.connection(ctx)
	if err != nil {
		return "", err
	}
	l, err := cn.client.Listen("tcp", remoteAddr)
	if err != nil {
		return "", fmt.Errorf("host %s: forwarding %s to this machine (is AllowTcpForwarding off in sshd_config?): %w", c.host, remoteAddr, err)
	}
	go func() {
		select {
		case <-ctx.Done():
		case <-cn.dead:
		}
		l.Close()
	}()
	go func() {
		for {
			rc, err := l.Accept()
			if err != nil {
				return
			}
			go pipe(rc, localAddr)
		}
	}()
	return l.Addr().String(), nil
}

// pipe joins a forwarded connection to a new one to addr.
func pipe(remote net.Conn, addr string) {
	defer remote.Close()
	local, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer local.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); io.Copy(local, remote); closeWrite(local) }()
	go func() { defer wg.Done(); io.Copy(remote, local); closeWrite(remote) }()
	wg.Wait()
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}
