package deployer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// stateDir holds what sealpack keeps on a host between runs.
const stateDir = "/var/lib/sealpack"

// resetMark is printed by settleScript when it cleaned a half-done attempt.
const resetMark = "SEALPACK_RESET_HALF_DONE"

// onceVars names the files of command name on the host, for both scripts.
func onceVars(name string) string {
	return fmt.Sprintf("dir=%[1]s done=%[1]s/%[2]s.done pidf=%[1]s/%[2]s.pid rcf=%[1]s/%[2]s.rc log=%[1]s/%[2]s.log", stateDir, name)
}

// onceConfigPath is where one attempt finds its configuration.
func onceConfigPath(name string) string {
	var b [6]byte
	rand.Read(b[:]) // never fails (crypto/rand's contract)
	return fmt.Sprintf("%s/%s.%s.yaml", stateDir, name, hex.EncodeToString(b[:]))
}

func settleScript(name string) string {
	// The first line is what logs and errors show of the script.
	return fmt.Sprintf(`# settle an earlier %[1]s
%[2]s
ours() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && grep -q kubeadm "/proc/$1/cmdline" 2>/dev/null; }
if [ -r "$pidf" ]; then
  pid=$(cat "$pidf"); i=0
  while ours "$pid" && [ $i -lt 300 ]; do sleep 0.2; i=$((i+1)); done
  if ours "$pid"; then echo "stopping the %[1]s of an earlier run (pid $pid)"; kill -KILL "$pid"; fi
  i=0; while [ ! -e "$rcf" ] && [ $i -lt 10 ]; do sleep 0.2; i=$((i+1)); done
fi
rm -f "$dir"/%[1]s.*.yaml "$log"
if [ -f "$done" ]; then rm -f "$pidf"; echo %[3]s; exit 0; fi
if [ -e "$pidf" ]; then
  echo "an earlier %[1]s ended half-way: kubeadm reset -f first"
  kubeadm reset -f || exit 1
  rm -f "$pidf"
  echo %[4]s
fi
exit 0`, name, onceVars(name), alreadyMark, resetMark)
}

// attemptScript runs command, which names its configuration file "$cfg".
func attemptScript(name, command, config string) string {
	return fmt.Sprintf(`# %[1]s (once)
%[2]s cfg=%[3]s
umask 077
rm -f "$rcf"; : > "$log"
(
  %[4]s &
  echo $! > "$pidf"
  wait $!; rc=$?
  rm -f "$cfg"
  if [ $rc -eq 0 ]; then touch "$done"; rm -f "$pidf"; fi
  echo $rc > "$rcf"
) > "$log" 2>&1 < /dev/null &
w=$!
if ! tail -n +1 -f --pid=$w "$log" 2>/dev/null; then wait $w; cat "$log"; fi
wait $w 2>/dev/null
rc=$(cat "$rcf" 2>/dev/null); [ -n "$rc" ] || rc=1
rm -f "$log"
exit $rc`, strings.ReplaceAll(command, `"$cfg"`, config), onceVars(name), config, command)
}

// once runs command (kubeadm init or join, which must take effect once) on
// host ip, with the configuration config() gives, asked for only when the
// command has to run. It runs in two steps, settle then attempt, because
// the connection to the host can be lost while the command goes on there:
//
//   - settle waits for an attempt of an earlier run still running (a minute
//     at most, then kills it). If that attempt succeeded, it says so
//     (alreadyMark) and there is nothing to do. If it ended half-way, settle
//     cleans it with kubeadm reset (kubeadm refuses to run over what it
//     left) and says so (resetMark); afterReset then removes what the
//     attempt left in the cluster.
//   - attempt runs the command detached from the connection: its output goes
//     to a file on the host, streamed from there, and a wrapper records the
//     outcome. A lost connection then neither kills kubeadm (a write to a
//     closed pipe would) nor loses its result.
//
// The configuration file holds a secret (the bootstrap token): each attempt
// has its own (onceConfigPath), removed when it ends; settle removes those
// that earlier attempts left behind. Output files are the host's root's
// only, and removed too.
func (r *run) once(ctx context.Context, phase, ip, name, command string, config func() ([]byte, error), afterReset func() error) (string, error) {
	out, err := r.exec(ctx, phase, ip, settleScript(name), r.env(ip))
	if err != nil {
		return "", err
	}
	if strings.Contains(out, alreadyMark) {
		return out, nil
	}
	if strings.Contains(out, resetMark) && afterReset != nil {
		if err := afterReset(); err != nil {
			return "", err
		}
	}
	cfg, err := config()
	if err != nil {
		return "", err
	}
	path := onceConfigPath(name)
	if err := r.putFile(ctx, ip, cfg, path, 0o600); err != nil {
		return "", fmt.Errorf("writing the %s configuration: %w", name, err)
	}
	out, err = r.exec(ctx, phase, ip, attemptScript(name, command, path), r.env(ip))
	if err != nil {
		// The command's output came on stdout (streamed from its file on the
		// host): the error names its cause only if we take it from there.
		if cause := causeLines(out); cause != "" {
			err = fmt.Errorf("%w\n%s\n(its whole output: %s)", err, cause, r.logs.Path(ip))
		}
	}
	return out, err
}

// causeLines picks what explains a failed kubeadm run from its output: its
// [ERROR ...] lines and "error execution phase" lines, else its last lines.
func causeLines(out string) string {
	var picked, all []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(line) > 300 {
			line = line[:297] + "..."
		}
		all = append(all, line)
		if strings.Contains(line, "[ERROR ") || strings.HasPrefix(line, "error execution phase") || strings.HasPrefix(line, "error: ") {
			picked = append(picked, line)
		}
	}
	if len(picked) == 0 && len(all) > 0 {
		picked = all[max(0, len(all)-5):]
	}
	if len(picked) > 12 {
		picked = picked[:12]
	}
	return strings.Join(picked, "\n")
}
