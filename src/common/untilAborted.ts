/**
 * `work`'s outcome, or `signal`'s reason thrown as soon as it aborts, whichever comes first. The
 * work is not stopped: it runs on unwatched (a rejection after the abort is nobody's to handle).
 * For a call that cannot be cut off (an S3 request carries no deadline) but must not hold what
 * waits for it past a stop.
 */
export async function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => {});
  if (signal.aborted) throw signal.reason as Error;
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
