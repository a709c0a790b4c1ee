/**
 * A job's calls of its file store that had not settled when the job returned are work it did not
 * await (`items.forEach(async (x) => { const id = await job.fileStore.writeGlobalFileBytes(x);
 * job.addChild(use, id) })`): what their callers do once they settle (add a successor) comes after
 * the job's successors were taken. The worker waits for them before it commits, so that such an
 * addition is refused while the attempt can still fail of it, whatever the machine's speed, rather
 * than lost once the commit is written.
 */
export interface CallsInFlight<T extends object> {
  /** `target`, whose methods' promises are followed until they settle. */
  readonly tracked: T;
  /**
   * Once every call still in flight has settled, and what awaited them has run (a turn of the event
   * loop), how many there were.
   */
  settled(): Promise<number>;
}

export function trackingCalls<T extends object>(target: T): CallsInFlight<T> {
  let inFlight = 0;
  const idle: (() => void)[] = [];
  // Each call's promise is awaited by one async wrapper, which the caller awaits in turn: a second
  // reaction on either (a `.then` to watch it) would cut V8's async stack trace there, and a file
  // store error would lose the user's frame that made the call.
  const follow = async (result: Promise<unknown>): Promise<unknown> => {
    inFlight++;
    try {
      return await result;
    } finally {
      if (--inFlight === 0) for (const wake of idle.splice(0)) wake();
    }
  };
  const tracked = new Proxy(target, {
    get(t, key) {
      const value: unknown = Reflect.get(t, key, t);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(t, args);
        return result instanceof Promise ? follow(result) : result;
      };
    },
  });
  return {
    tracked,
    settled: async () => {
      const pending = inFlight;
      if (pending === 0) return 0;
      await new Promise<void>((wake) => idle.push(wake));
      // What awaited them (the job's continuation after its `await`) runs before this resolves.
      await new Promise((resolve) => setImmediate(resolve));
      return pending;
    },
  };
}
