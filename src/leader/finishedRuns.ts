/** What of a run tells whether, and when, it finished. */
interface RunEnd {
  readonly id: string;
  readonly status: string;
  readonly submittedAt: number;
  readonly finishedAt?: number;
}

/**
 * The ids of the finished runs past the newest `keep` of them (by when they finished), the runs
 * the leader forgets: running ones are never among them.
 */
export function finishedRunsPastKeep(runs: Iterable<RunEnd>, keep: number): string[] {
  const finished = [...runs].filter((r) => r.status !== 'running');
  if (finished.length <= keep) return [];
  const endOf = (r: RunEnd): number => r.finishedAt ?? r.submittedAt;
  return finished
    .sort((a, b) => endOf(b) - endOf(a))
    .slice(keep)
    .map((r) => r.id);
}

/** The most of a run's message the leader keeps (a failed run's message lists its failed jobs). */
export const MAX_RUN_MESSAGE_CHARS = 4_000;

/** `message` within MAX_RUN_MESSAGE_CHARS: its start, and how much was left out. */
export function cappedRunMessage(message: string): string {
  if (message.length <= MAX_RUN_MESSAGE_CHARS) return message;
  // Room for the note: '… (N characters more)' is under 40 characters for any message.
  const kept = MAX_RUN_MESSAGE_CHARS - 40;
  return `${message.slice(0, kept)}… (${message.length - kept} characters more)`;
}
