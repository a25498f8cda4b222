package deployer

import "fmt"

// onceScript runs a kubeadm command that must take effect once on a host
// (init, join) and may be cut off half-way: the connection to the host can
// be lost while the command goes on there. A marker records success on the
// host itself, so a run stopped after the command but before recording it
// goes on; a command of an earlier run still running is waited for (a
// minute at most, then killed); and an attempt that ended half-way is
// cleaned with kubeadm reset before the next, since kubeadm refuses to run
// over what it left. The configuration file holds a secret: it is removed
// whatever happens.
func onceScript(name, command, config string) string {
	// The first line is what logs and errors show of the script.
	return fmt.Sprintf(`# %[2]s (once)
done=/var/lib/sealpack/%[1]s.done pidf=/var/lib/sealpack/%[1]s.pid cfg=%[3]s
ours() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && grep -q kubeadm "/proc/$1/cmdline" 2>/dev/null; }
if [ -r "$pidf" ]; then
  pid=$(cat "$pidf"); i=0
  while ours "$pid" && [ $i -lt 300 ]; do sleep 0.2; i=$((i+1)); done
  if ours "$pid"; then echo "stopping the %[1]s of an earlier run (pid $pid)"; kill -KILL "$pid"; fi
fi
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
exit $rc`, name, command, config, alreadyMark)
}
