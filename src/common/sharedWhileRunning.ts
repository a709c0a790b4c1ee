/**
 * `read` made one at a time: a caller arriving while a read is under way gets that read's result
 * (or error) rather than starting another. Open routes that read the cloud or the cluster manager
 * use it, so a flood of requests makes one call at a time, not one each.
 */
export function sharedWhileRunning<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () =>
    (running ??= read().finally(() => {
      running = undefined;
    }));
}
