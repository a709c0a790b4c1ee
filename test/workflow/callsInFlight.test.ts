import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { trackingCalls } from '../../src/workflow/callsInFlight.js';

/** A stand-in for the job's file store: one call that fails after a turn, one that succeeds later. */
class Store {
  async refuse(): Promise<never> {
    await sleep(5);
    throw new Error('disk full');
  }
  async write(ms: number): Promise<string> {
    await sleep(ms);
    return 'file-id';
  }
  get label(): string {
    return 'store';
  }
}

t.test('an error of a tracked call keeps the frame of the job that awaited it', async (t) => {
  const { tracked } = trackingCalls(new Store());
  // The job's own async function: V8 names it in the error's async stack only while each promise
  // on the way has the one await as its reaction.
  async function jobThatWrites(): Promise<void> {
    await tracked.refuse();
  }
  const e = await jobThatWrites().then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  t.ok(e, 'the call failed');
  t.match(e!.stack, /at async jobThatWrites /, "the job's frame is in the stack");
});

t.test('settled waits for the calls the job left running, and what awaited them', async (t) => {
  const calls = trackingCalls(new Store());
  const tracked = calls.tracked;
  const after: string[] = [];
  // A job's forEach(async ...): two writes it does not await.
  for (const ms of [10, 30])
    void (async () => {
      after.push(`${await tracked.write(ms)} ${ms}`);
    })();
  t.equal(tracked.label, 'store', 'a property is read through');
  t.equal(await calls.settled(), 2, 'two calls were in flight');
  t.same(after.sort(), ['file-id 10', 'file-id 30'], "each caller's continuation ran first");
  t.equal(await calls.settled(), 0, 'none in flight after');
});
