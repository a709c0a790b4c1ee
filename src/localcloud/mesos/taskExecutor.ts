/**
 * The process that stands between the local agent and a task's command, as mesos-executor does
 * on a real agent: the command's parent is this executor, not the agent. A job that kills its
 * parent (`process.kill(process.ppid)`, `kill $PPID`) then reaches its own executor only, and
 * fails at most its own task; the agent and every other task on the node run on.
 *
 * It is a `/bin/sh` (about 1 MB a task) that:
 * - traps (does not ignore) the terminating signals a job may send it, so a signal aimed at it
 *   is absorbed, while the command, whose trapped signals exec resets to their defaults, still
 *   gets the agent's SIGTERM to the task's process group and handles it as before;
 * - waits for the command (a trap of sh runs only once its foreground command has ended);
 * - ends as the command did: its exit status, or its signal raised again on itself, so the
 *   agent still reports "Command terminated with signal X" rather than "exited with status
 *   128+X" (sh cannot tell a command that exited with 129..192 from one killed by a signal: such
 *   a status is reported as that signal; Toil's workers exit with 0..3);
 * - keeps its own messages ("Terminated", "Segmentation fault") out of the task's stderr, where
 *   the command alone writes, as before.
 * A SIGKILL (or a signal it does not trap) ends it: the agent then destroys the task's process
 * group and reports the task failed, as Mesos does when a task's executor dies.
 */

/** The signals a job is likely to send its parent (SIGTERM, the default of `kill` and `process.kill`, first). */
const ABSORBED_SIGNALS = 'HUP INT QUIT TERM USR1 USR2 ALRM';

/**
 * `$0 "$@"` is the command. It runs in a subshell that execs it (no extra process) with the
 * task's stderr on fd 2 again, while the executor's own fd 2, where sh writes what it says
 * about its child, is /dev/null. Cores are off before the executor raises a signal whose
 * default is to dump one: the command's core, if any, was dumped by the command.
 */
const EXECUTOR_SCRIPT = [
  'exec 3>&2 2>/dev/null',
  `trap : ${ABSORBED_SIGNALS}`,
  '(exec 2>&3 3>&- && exec "$0" "$@")',
  's=$?',
  `if [ "$s" -gt 128 ] && [ "$s" -le 192 ]; then ulimit -c 0; trap - ${ABSORBED_SIGNALS}; kill -$((s - 128)) $$; fi`,
  'exit "$s"',
].join('\n');

export interface TaskCommand {
  /** CommandInfo.shell: run `value` with `sh -c` (Mesos' default). */
  shell: boolean;
  value: string;
  /** For `shell: false`: the command's argv; argv[0] is its name. */
  arguments: readonly string[];
}

/**
 * The file and arguments to spawn for a task: the executor, running the command. With
 * `shell: false` the command is `value` run with `arguments[1..]`, and its argv[0] is `value`
 * (sh cannot set another; the Mesos batch system sends argv[0] as value, and nothing a task
 * runs depends on an argv[0] of its own).
 */
export function executorSpawn(command: TaskCommand): { file: string; args: string[] } {
  const cmd = command.shell
    ? ['/bin/sh', '-c', command.value]
    : [command.value, ...command.arguments.slice(1)];
  return { file: '/bin/sh', args: ['-c', EXECUTOR_SCRIPT, ...cmd] };
}
