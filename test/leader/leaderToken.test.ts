import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { loadOrCreateToken } from '../../src/leader/auth.js';

/**
 * The leader's token file: made 0600 on first start; one found readable by others is made 0600
 * again and the caller is told the mode it had (the leader warns: whoever could read it may hold
 * the token). It was made private without a word.
 */
const scratch = (t: Test): string => {
  const dir = mkdtempSync(join(tmpdir(), 'toil-token-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

t.test('a new token file is created readable by its owner alone', async (t) => {
  const path = join(scratch(t), 'state.token');
  const first = await loadOrCreateToken(path);
  t.equal(first.created, true);
  t.equal(statSync(path).mode & 0o777, 0o600);
  t.equal(readFileSync(path, 'utf8').trim(), first.token);
  const again = await loadOrCreateToken(path);
  t.same(again, { token: first.token, created: false }, 'read back, nothing to say');
});

t.test('a token file others can read is made 0600 and the mode it had is said', async (t) => {
  for (const mode of [0o644, 0o640, 0o604]) {
    const path = join(scratch(t), 'state.token');
    writeFileSync(path, 'a-token-of-at-least-16-chars\n');
    chmodSync(path, mode);
    const r = await loadOrCreateToken(path);
    t.same(r, { token: 'a-token-of-at-least-16-chars', created: false, exposedMode: mode }, mode.toString(8));
    t.equal(statSync(path).mode & 0o777, 0o600, `${mode.toString(8)}: now 0600`);
  }
});
