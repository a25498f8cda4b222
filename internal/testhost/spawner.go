package testhost

import (
	"os/exec"
	"runtime"
)

// spawner starts host processes from one OS thread that lives as long as the
// world. PR_SET_PDEATHSIG fires when the parent *thread* exits, and Go may
// retire threads; a locked, long-lived thread makes the signal mean what we
// want: the hosts die with the test process and never outlive it.
type spawner struct {
	reqs chan spawnReq
	done chan struct{}
}

type spawnReq struct {
	cmd   *exec.Cmd
	reply chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *spawner) loop() {
	runtime.LockOSThread()
	// No UnlockOSThread: when the world is down the thread may go.
	defer close(s.done)
	for r := range s.reqs {
		r.reply <- r.cmd.Start()
	}
}

func (s *spawner) start(cmd *exec.Cmd) error {
	reply := make(chan error, 1)
	s.reqs <- spawnReq{cmd: cmd, reply: reply}
	return <-reply
}

// stop ends the thread; call it only once no host is running.
func (s *spawner) stop() {
	close(s.reqs)
	<-s.done
}
