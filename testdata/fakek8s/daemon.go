package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// startDaemon starts this binary under another personality, detached in
// its own session with its output in logPath, so it outlives the command
// that started it and holds no terminal or SSH session open.
func startDaemon(e *env, personality string, args []string, logPath string) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("finding the executable: %w", err)
	}
	if err := os.MkdirAll(parentDir(e.path(logPath)), 0o755); err != nil {
		return 0, err
	}
	logf, err := os.OpenFile(e.path(logPath), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        append([]string{personality, "--fakek8s-root=" + e.root}, args...),
		Env:         daemonEnv(),
		Dir:         "/",
		Stdin:       null,
		Stdout:      logf,
		Stderr:      logf,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", personality, err)
	}
	pid := cmd.Process.Pid
	// Reap the child if it dies while we still run; once we exit, init
	// inherits it.
	go func() { _ = cmd.Wait() }()
	return pid, nil
}

func parentDir(p string) string {
	if i := strings.LastIndex(p, "/"); i > 0 {
		return p[:i]
	}
	return "/"
}

// daemonPid reads a daemon's pid file and checks that the process is that
// daemon of this state root (pids get reused).
func daemonPid(e *env, pidFile, personality string) (int, bool) {
	b, err := os.ReadFile(e.path(pidFile))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, isOurDaemon(e, pid, personality)
}

func isOurDaemon(e *env, pid int, personality string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0})
	if len(args) < 2 || string(args[0]) != personality || string(args[1]) != "--fakek8s-root="+e.root {
		return false
	}
	return !isZombie(pid)
}

func isZombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X'
}

// stopDaemon ends a daemon: its pid file goes first (its watchdog then
// stops it on its own), then SIGTERM, then SIGKILL after 5 s. It reports
// whether one was running.
func stopDaemon(e *env, pidFile, personality string) (bool, error) {
	pid, ok := daemonPid(e, pidFile, personality)
	if err := os.Remove(e.path(pidFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return ok, err
	}
	if !ok {
		return false, nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if !isOurDaemon(e, pid, personality) {
			return true, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return true, nil
}

// logTail is the end of a daemon's log, for error messages.
func logTail(e *env, path string, lines int) string {
	b, err := os.ReadFile(e.path(path))
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

func portFree(host string, port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func dialUnix(path string) error {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

func numCPU() int { return runtime.NumCPU() }

// memTotalMB reads MemTotal; false when the root has no /proc/meminfo
// (a test root).
func memTotalMB(e *env) (int, bool) {
	f, err := os.Open(e.path("/proc/meminfo"))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.Atoi(fields[1])
			return kb / 1024, err == nil
		}
	}
	return 0, false
}

// defaultRouteIP is kubeadm's choice of advertise address: the first
// global IPv4 address of the interface of the default route. The host's
// own IP knob stands for it in tests.
func defaultRouteIP(e *env) (net.IP, error) {
	if ip, err := e.hostIP(); err != nil || ip != nil {
		return ip, err
	}
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || fields[1] != "00000000" || fields[7] != "00000000" {
			continue
		}
		iface, err := net.InterfaceByName(fields[0])
		if err != nil {
			continue
		}
		addrs, _ := iface.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
				return ipn.IP, nil
			}
		}
	}
	return nil, errors.New(`no default routes found in "/proc/net/route" or "/proc/net/ipv6_route"`)
}
