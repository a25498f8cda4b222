package deployer

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// stateDir holds what sealpack keeps on a host between runs.
const stateDir = "/var/lib/sealpack"

// onceConfigPath is where one attempt of a onceScript command finds its
// configuration. Each attempt has its own file: an attempt of an earlier
// run, cut off from the jump host but still running there, removes its
// file when it ends, and must not remove the one this run just wrote.
func onceConfigPath(name string) string {
	var b [6]byte
	rand.Read(b[:]) // never fails (crypto/rand's contract)
	return fmt.Sprintf("%s/%s.%s.yaml", stateDir, name, hex.EncodeToString(b[:]))
}

// onceScript runs a kubeadm command that must take effect once on a host
// (init, join) and may be cut off half-way: the connection to the host can
// be lost while the command goes on there. A marker records success on the
// host itself, so a run stopped after the command but before recording it
// goes on; a command of an earlier run still running is waited for (a
// minute at most, then killed); and an attempt that ended half-way is
// cleaned with kubeadm reset before the next, since kubeadm refuses to run
// over what it left. command names its configuration file (from
// onceConfigPath) "$cfg". That file holds a secret: it is removed whatever
// happens, and so are those that earlier attempts left behind.
func onceScript(name, command, config string) string {
	// The first line is what logs and errors show of the script.
	return fmt.Sprintf(`# %[6]s (once)
dir=%[5]s done=%[5]s/%[1]s.done pidf=%[5]s/%[1]s.pid cfg=%[3]s
ours() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && grep -q kubeadm "/proc/$1/cmdline" 2>/dev/null; }
if [ -r "$pidf" ]; then
  pid=$(cat "$pidf"); i=0
  while ours "$pid" && [ $i -lt 300 ]; do sleep 0.2; i=$((i+1)); done
  if ours "$pid"; then echo "stopping the %[1]s of an earlier run (pid $pid)"; kill -KILL "$pid"; fi
fi
for f in "$dir"/%[1]s.*.yaml; do [ "$f" = "$cfg" ] || rm -f "$f"; done
if [ -f "$done" ]; then rm -f "$cfg" "$pidf"; echo %[4]s; exit 0; fi
if [ -e "$pidf" ]; then
  echo "an earlier %[1]s ended half-way: kubeadm reset -f first"
  kubeadm reset -f || { rm -f "$cfg"; exit 1; }
fi
%[2]s &
echo $! > "$pidf"
wait $!; rc=$?
rm -f "$cfg"
if [ $rc -eq 0 ]; then touch "$done"; rm -f "$pidf"; fi
exit $rc`, name, command, config, alreadyMark, stateDir, strings.ReplaceAll(command, `"$cfg"`, config))
}
