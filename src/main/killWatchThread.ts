import { workerData } from 'node:worker_threads';
import { RealClock } from '../common/clock.js';
import { BLOCKED_CALL, type KillWatchData } from '../leader/killWatch.js';

/**
 * The thread of a leader's killWatch (src/leader/killWatch.ts): looks for a `toil kill` of its
 * leader's generation at the leader's own pace and, finding one while the call it watches is still
 * blocking the event loop, interrupts that call with a SIGINT, which V8's watchdog over the call
 * turns into its end.
 */
const { locator, generation, state, pollMs } = workerData as KillWatchData;
const shared = new Int32Array(state);

const clock = new RealClock();

// Most calls' synchronous parts end in milliseconds, and this thread with them: the store's code
// (an aws: store's S3 client) loads only for one still blocking at the first look.
await clock.sleep(pollMs);
const { openJobStore } = await import('./jobStores.js');
const { killRequestNow } = await import('../leader/killRequest.js');
const store = openJobStore(locator);
while (Atomics.load(shared, 0) === BLOCKED_CALL.running) {
  const request = await killRequestNow(store, generation);
  // Past the exchange the call can no longer end unwatched: its end waits for the signal to be sent.
  if (
    request &&
    Atomics.compareExchange(shared, 0, BLOCKED_CALL.running, BLOCKED_CALL.interrupting) ===
      BLOCKED_CALL.running
  ) {
    process.kill(process.pid, 'SIGINT');
    Atomics.store(shared, 0, BLOCKED_CALL.interrupted);
    Atomics.notify(shared, 0);
    break;
  }
  await clock.sleep(pollMs);
}
