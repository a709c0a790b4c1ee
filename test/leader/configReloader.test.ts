import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { waitFor } from '../fixtures/waitFor.js';
import { RealClock } from '../../src/common/clock.js';
import { createLogger, silentLogger, type Logger } from '../../src/common/log.js';
import { ConfigReloader } from '../../src/leader/configReloader.js';

interface Limits {
  maxNodes: number;
}

function parseLimits(text: string): Limits {
  const value = JSON.parse(text) as { maxNodes?: unknown };
  if (typeof value.maxNodes !== 'number' || value.maxNodes < 0) {
    throw new Error('maxNodes: expected a number >= 0');
  }
  return Object.freeze({ maxNodes: value.maxNodes });
}

function setup(t: { teardown(fn: () => void): void }, log: Logger = silentLogger()) {
  const dir = mkdtempSync(join(tmpdir(), 'reload-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'leader.json');
  writeFileSync(path, '{"maxNodes": 5}');
  const state = { current: parseLimits('{"maxNodes": 5}'), rejected: [] as string[] };
  const reloader = new ConfigReloader<Limits>(
    {
      path,
      parse: parseLimits,
      apply: (c) => (state.current = c),
      reject: (e) => state.rejected.push(e.message),
      clock: new RealClock(),
      log,
      debounceMs: 20,
    },
    '{"maxNodes": 5}',
  );
  t.teardown(() => reloader.stop());
  return { path, state, reloader };
}

t.test('a valid file swaps in whole; an invalid one is rejected and the old config stays', async (t) => {
  const { path, state, reloader } = setup(t);
  t.same(await reloader.reload(), { status: 'unchanged' }, 'same text: nothing to do');

  writeFileSync(path, '{"maxNodes": 12}');
  const applied = await reloader.reload();
  t.equal(applied.status, 'applied');
  t.same(state.current, { maxNodes: 12 });

  writeFileSync(path, '{"maxNodes": -3}');
  const rejected = await reloader.reload();
  t.equal(rejected.status, 'rejected');
  t.same(state.current, { maxNodes: 12 }, 'the old config stays in force');
  t.same(state.rejected, ['maxNodes: expected a number >= 0']);

  writeFileSync(path, '{not json');
  t.equal((await reloader.reload()).status, 'rejected', 'a file that does not parse is rejected too');
  t.same(state.current, { maxNodes: 12 });
});

t.test(
  'a reload that finds the file unchanged says so, and that it is back to the config in force after a rejection',
  async (t) => {
    const messages: string[] = [];
    const log = createLogger({
      level: 'info',
      destination: { write: (line: string) => void messages.push((JSON.parse(line) as { msg: string }).msg) },
    });
    const { path, state, reloader } = setup(t, log);
    await reloader.reload();
    t.same(messages, ['config unchanged; nothing to reload'], 'a SIGHUP with nothing new is answered');

    writeFileSync(path, '{"maxNodes": -3}');
    await reloader.reload();
    writeFileSync(path, '{"maxNodes": 5}');
    t.same(await reloader.reload(), { status: 'unchanged' });
    t.same(state.current, { maxNodes: 5 });
    t.same(messages.slice(1), [
      'config reload rejected; keeping the current config',
      'config file is back to the config in force; nothing to reload',
    ]);
  },
);

t.test('a change on disk is picked up without being asked', async (t) => {
  const { path, state, reloader } = setup(t);
  reloader.start();
  // Replace by rename, as editors do.
  writeFileSync(`${path}.tmp`, '{"maxNodes": 7}');
  renameSync(`${path}.tmp`, path);
  await waitFor('the reload', () => state.current.maxNodes === 7, 5000, 20);
  t.same(state.current, { maxNodes: 7 });
});
