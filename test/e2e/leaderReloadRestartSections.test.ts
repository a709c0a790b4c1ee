import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startEmbeddedLeader } from '../fixtures/leaderE2e.js';
import { testDir } from '../fixtures/testDir.js';
import { waitFor } from '../fixtures/waitFor.js';

/**
 * A reload tells the operator to restart only for what it cannot apply: sections the leader reads
 * where it uses them (shutdown, workflows) apply without one, and a restart-only section put back
 * as the leader started with it is not named again.
 */
t.setTimeout(120_000);

t.test(
  'a reload names only the sections it cannot apply, and only while they differ from what the leader started with',
  async (t) => {
    const dir = testDir(t);
    const { leader } = await startEmbeddedLeader(t, dir);
    const cfgPath = join(dir, 'leader.yaml');
    const original = readFileSync(cfgPath, 'utf8');
    const lines = (text: string): string[] =>
      leader
        .output()
        .split('\n')
        .filter((l) => l.includes(text));
    const restartWarnings = (): string[] => lines('take effect only after a restart');
    const reload = async (text: string, reloads: number): Promise<void> => {
      writeFileSync(cfgPath, text);
      await waitFor(`reload ${reloads}`, () => lines('"msg":"config reloaded"').length === reloads);
    };

    await reload(
      `${original.replace('grace: 30s', 'grace: 5s').replace('maxNodes: 4', 'maxNodes: 3')}\nworkflows:\n  startTimeout: 5m\n`,
      1,
    );
    t.same(restartWarnings(), [], 'shutdown and workflows apply without a restart');
    await reload(original.replace('maxTickAge: 5m', 'maxTickAge: 6m'), 2);
    t.equal(restartWarnings().length, 1, 'an http change needs a restart');
    t.match(restartWarnings()[0], /"sections":\["http"\]/);
    await reload(original.replace('maxNodes: 4', 'maxNodes: 2'), 3);
    t.equal(restartWarnings().length, 1, 'http put back as it started: no restart asked for');
  },
);
