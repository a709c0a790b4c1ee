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

/**
 * `read` made one at a time per key, as sharedWhileRunning makes it. A file system call on a hung
 * mount holds a thread of the pool every file operation of the process shares until the mount
 * answers: a path asked about again while a call on it is under way waits on that call rather than
 * taking the pool thread by thread.
 */
export function sharedWhileRunningFor<K, T>(read: (key: K) => Promise<T>): (key: K) => Promise<T> {
  const running = new Map<K, Promise<T>>();
  return (key) => {
    let pending = running.get(key);
    if (!pending) {
      pending = read(key).finally(() => running.delete(key));
      running.set(key, pending);
    }
    return pending;
  };
}
