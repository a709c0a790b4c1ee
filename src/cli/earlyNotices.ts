/**
 * Lines `toil run` prints before its `--logFile` is open (a config file's notice, an argument that
 * looks like a toil option): said on stderr at once, and kept so the log file, once open, starts
 * with them in the order they were said. A log read later then holds every line stderr showed.
 */
const kept: string[] = [];

/** Prints `line` on stderr now; the next `takeEarlyNotices` returns it too. */
export function noticeBeforeLogFile(line: string): void {
  process.stderr.write(`${line}\n`);
  kept.push(line);
}

/** The lines said so far, oldest first, each handed out once. */
export function takeEarlyNotices(): string[] {
  return kept.splice(0);
}
