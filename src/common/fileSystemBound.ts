import { untilAborted } from './untilAborted.js';

/**
 * How long a file system has to answer one question about a path a submission names. A local or
 * healthy network disk answers in milliseconds; one on a hung mount never does, and a submission
 * waiting on it longer than this would sit past the point a user takes the leader for hung too.
 */
export const FILE_SYSTEM_ANSWER_TIMEOUT_MS = 5_000;

/**
 * `work`, a call on a file system that may sit on a hung mount, or `late()` thrown once `timeoutMs`
 * has passed without it settling. The call is not stopped (a hung system call cannot be): it is
 * left to settle unwatched, and whoever asked is answered.
 */
export async function answeredWithin<T>(work: Promise<T>, timeoutMs: number, late: () => Error): Promise<T> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    return await untilAborted(work, timeout);
  } catch (e) {
    if (timeout.aborted) throw late();
    throw e;
  }
}

/**
 * How a path whose file system did not answer in time is refused: `what` names the path, `whose`
 * the file system(s) asked.
 */
export function notAnsweringMessage(what: string, timeoutMs: number, whose = 'its file system'): string {
  return (
    `${what}: ${whose} did not answer within ${timeoutMs / 1000} s ` +
    `(a hung or unreachable mount?); check the mount, then submit again`
  );
}
