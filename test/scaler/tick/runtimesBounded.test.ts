import { join } from 'node:path';
import t from 'tap';
import { FileObjectStore } from '../../../src/jobstore/fileObjectStore.js';
import { leaderStateStores } from '../../../src/main/leaderState.js';
import { estimateRuntime, MAX_RUNTIME_NAMES, RECENT_WINDOW } from '../../../src/scaler/runtimes.js';
import { emptyTickState, learnRuntimes } from '../../../src/scaler/tick/state.js';
import { bytesUnder } from '../../fixtures/dirBytes.js';
import { testDir } from '../../fixtures/testDir.js';

/**
 * The tick state a leader saves at every tick keeps the learned runtimes of the MAX_RUNTIME_NAMES
 * job names completed most recently: runs whose job names are their own (a sample's id in each)
 * do not grow it without end, and a name the workflows use all along keeps its history.
 */
const RUNS = 300;
const JOBS_PER_RUN = 20;
/** A name's entry at most: its name (under 40 characters) and RECENT_WINDOW runtimes. */
const ENTRY_BOUND = 40 + RECENT_WINDOW * 8 + 60;
const BOUND = MAX_RUNTIME_NAMES * ENTRY_BOUND + 2_000;

t.test(
  `the saved tick state stays under ${BOUND} bytes over ${RUNS} runs of distinct job names`,
  async (t) => {
    const stateDir = join(testDir(t), 'state');
    const objects = new FileObjectStore(stateDir);
    await objects.create();
    const { tickStore } = leaderStateStores(objects);
    let state = emptyTickState();
    let largest = 0;
    for (let run = 0; run < RUNS; run++) {
      const completions = [
        ...Array.from({ length: JOBS_PER_RUN }, (_, j) => ({
          name: `align-sample-${run}-${j}`,
          seconds: 600 + j,
        })),
        // The name every run uses: its history must survive the others coming and going.
        ...Array.from({ length: RECENT_WINDOW }, () => ({ name: 'merge', seconds: 42 })),
      ];
      state = learnRuntimes(state, completions);
      await tickStore.save(state);
      largest = Math.max(largest, bytesUnder(stateDir));
    }
    t.ok(largest <= BOUND, `the state's largest, ${largest} bytes, is within ${BOUND}`);
    const names = Object.keys(state.runtimes.byName);
    t.equal(names.length, MAX_RUNTIME_NAMES, `${MAX_RUNTIME_NAMES} job names kept`);
    t.ok(names.includes(`align-sample-${RUNS - 1}-${JOBS_PER_RUN - 1}`), 'the newest name is kept');
    t.notOk(names.includes('align-sample-0-0'), 'the oldest is forgotten');
    t.same(
      estimateRuntime(
        state.runtimes,
        { name: 'merge' },
        { unknownRuntimeSeconds: 1, targetTimeSeconds: 1800 },
      ),
      { seconds: 42, source: 'learned' },
      'a name in use all along keeps its history',
    );
    t.equal(state.runtimes.total.count, RUNS * (JOBS_PER_RUN + RECENT_WINDOW), 'every completion is counted');
  },
);

t.test('a job named by a number is kept while it is among the names completed most recently', async (t) => {
  let state = emptyTickState();
  const others = Array.from({ length: MAX_RUNTIME_NAMES - 1 }, (_, i) => ({
    name: `step-${i}`,
    seconds: 60,
  }));
  state = learnRuntimes(state, others);
  state = learnRuntimes(state, [{ name: '42', seconds: 300 }]);
  // Saved and read back between ticks, as the leader does: an object lists '42' first.
  state = JSON.parse(JSON.stringify(state)) as typeof state;
  state = learnRuntimes(state, [{ name: 'newest', seconds: 5 }]);
  const names = Object.keys(state.runtimes.byName);
  t.equal(names.length, MAX_RUNTIME_NAMES, `${MAX_RUNTIME_NAMES} job names kept`);
  t.ok(names.includes('42'), "'42', the second newest, is kept");
  t.ok(names.includes('newest'), 'the newest is kept');
  t.notOk(names.includes('step-0'), 'the oldest is forgotten');
});
