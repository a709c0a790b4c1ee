/**
 * Whether this process has imported a workflow's own module. What its code leaves behind (a timer
 * a start() set, a server a finish() left listening, a client's pool) keeps Node's loop up for
 * ever once the command is done, so the `toil` command then exits with its code as soon as it
 * has said how the command ended (cli/exitWhenDone.ts), as a run of Toil does when its workflow
 * ends, rather than hanging after `workflow succeeded`.
 */
let loaded = false;

export function markUserCodeLoaded(): void {
  loaded = true;
}

export function userCodeLoaded(): boolean {
  return loaded;
}
