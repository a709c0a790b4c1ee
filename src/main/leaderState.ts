/**
 * The leader daemon's own state, as small JSON objects in its job store (`jobStore:` of its
 * config): the scaler tick's state, the submitted workflows, their bundled modules, and the
 * status page's plot history.
 */
import { LEADER_KEY } from '../jobstore/lease.js';
import { PROBE_PREFIX, type ObjectStore } from '../jobstore/objectStore.js';
import type { HistoryStore, RunStore, WorkflowRun } from '../leader/daemon.js';
import type { StatusSample } from '../leader/statusHistory.js';
import type { TickState, TickStateStore } from '../scaler/tick/state.js';

const DOCUMENTS = {
  workflows: 'leader/workflows.json',
  tickState: 'leader/tick-state.json',
  statusHistory: 'leader/status-history.json',
} as const;

/**
 * Whether `key` is one the leader's state holds: its lease record, its documents, a submitted
 * workflow's module, or the store's own probe of conditional writes. A state bucket holding only
 * these is the leader's, though a leader from before the lease wrote no `leader.json`.
 */
export function isLeaderStateKey(key: string): boolean {
  return (
    key === LEADER_KEY ||
    Object.values<string>(DOCUMENTS).includes(key) ||
    /^leader\/submissions\/[^/]+\.mjs$/.test(key) ||
    key.startsWith(PROBE_PREFIX)
  );
}

/** One JSON document under `key`: `load` gives `absent` when none was saved. */
function jsonDocument<T, A>(
  objects: ObjectStore,
  key: string,
  absent: A,
): { load(): Promise<T | A>; save(value: T): Promise<void> } {
  return {
    async load() {
      const o = await objects.get(key);
      return o ? (JSON.parse(Buffer.from(o.body).toString('utf8')) as T) : absent;
    },
    async save(value) {
      await objects.put(key, JSON.stringify(value));
    },
  };
}

export function leaderStateStores(stateStore: ObjectStore): {
  tickStore: TickStateStore;
  runStore: RunStore;
  historyStore: HistoryStore;
} {
  const runs = jsonDocument<readonly WorkflowRun[], readonly WorkflowRun[]>(
    stateStore,
    DOCUMENTS.workflows,
    [],
  );
  const runStore: RunStore = {
    load: () => runs.load(),
    save: (r) => runs.save(r),
    async saveModule(id, bundle) {
      await stateStore.put(`leader/submissions/${id}.mjs`, bundle);
    },
    async loadModule(id) {
      return (await stateStore.get(`leader/submissions/${id}.mjs`))?.body;
    },
    async deleteModule(id) {
      await stateStore.delete(`leader/submissions/${id}.mjs`);
    },
  };
  return {
    tickStore: jsonDocument<TickState, undefined>(stateStore, DOCUMENTS.tickState, undefined),
    runStore,
    historyStore: jsonDocument<readonly StatusSample[], readonly StatusSample[]>(
      stateStore,
      DOCUMENTS.statusHistory,
      [],
    ),
  };
}
