import { RealClock } from './clock.js';

/**
 * Resolves once process `pid` no longer exists (checked every second); never, once `signal`
 * aborts. How a process a local cloud started goes with it when the local cloud is killed with
 * -9 (nothing else tells it: Node has no parent-death signal).
 */
export async function processGone(pid: number, signal: AbortSignal): Promise<void> {
  const clock = new RealClock();
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') return;
    }
    try {
      await clock.sleep(1000, signal);
    } catch {
      return new Promise<void>(() => undefined);
    }
  }
}
