import { join } from 'node:path';
import t from 'tap';
import { leaderToken } from '../../src/cli/runAutoscaledOnLeader.js';
import { countingListener } from '../fixtures/countingListener.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { oneLineRefusal } from '../fixtures/oneLineRefusal.js';
import { setProcessEnv } from '../fixtures/processEnv.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';

// An empty token, or one of several words, reached the leader as a malformed Authorization
// header, and the leader's refusal could not say which of the three inputs held it.

t.test('a token from the flag, the variable or the file is read alone, around its whitespace', async (t) => {
  const dir = testDir(t, { token: '  0123456789abcdef-token\n', both: 'from-the-file\n' });
  setProcessEnv(t, { TOIL_LEADER_TOKEN: '', TOIL_LEADER_TOKEN_FILE: join(dir, 'token') });
  t.equal(await leaderToken(' flag-token '), 'flag-token', 'the flag, trimmed');
  t.equal(
    await leaderToken(undefined),
    '0123456789abcdef-token',
    'an empty TOIL_LEADER_TOKEN falls to the file',
  );
  process.env.TOIL_LEADER_TOKEN = ' env-token\n';
  t.equal(await leaderToken(undefined), 'env-token', 'the variable before the file, trimmed');
});

t.test(
  'an empty token or one of several words is refused before the leader is reached, naming where it came from',
  async (t) => {
    const dir = testDir(t, { empty: '', blank: ' \n\n', two: 'abc def\n' });
    const leader = await countingListener(t);
    const workflow = repoPath('examples/sort.ts');
    const submit = ['run', workflow, `file:${join(dir, 'store')}`, '--leader', leader.url];
    const rows: readonly {
      what: string;
      args: readonly string[];
      env: Record<string, string>;
      expected: RegExp;
    }[] = [
      {
        what: 'run --leaderToken ""',
        args: [...submit, '--leaderToken', ''],
        env: {},
        expected:
          /^toil: --leaderToken: the token is empty; expected the leader's token alone, one word \(it is in the leader's token file/,
      },
      {
        what: 'run --leaderToken "a b"',
        args: [...submit, '--leaderToken', 'a b'],
        env: {},
        expected: /^toil: --leaderToken: the token is 2 words; expected the leader's token alone/,
      },
      {
        what: 'run with TOIL_LEADER_TOKEN of three words',
        args: submit,
        env: { TOIL_LEADER_TOKEN: 'Bearer abc def' },
        expected: /^toil: TOIL_LEADER_TOKEN: the token is 3 words; expected/,
      },
      {
        what: 'run with TOIL_LEADER_TOKEN_FILE naming an empty file',
        args: submit,
        env: { TOIL_LEADER_TOKEN_FILE: join(dir, 'empty') },
        expected: /^toil: TOIL_LEADER_TOKEN_FILE \S*empty: the token is empty; expected/,
      },
      {
        what: 'run with TOIL_LEADER_TOKEN_FILE naming a file of blank lines',
        args: submit,
        env: { TOIL_LEADER_TOKEN_FILE: join(dir, 'blank') },
        expected: /^toil: TOIL_LEADER_TOKEN_FILE \S*blank: the token is empty; expected/,
      },
      {
        what: 'cancel with TOIL_LEADER_TOKEN_FILE naming a file of two words',
        args: ['cancel', 'wf-1', '--leader', leader.url],
        env: { TOIL_LEADER_TOKEN_FILE: join(dir, 'two') },
        expected: /^toil: TOIL_LEADER_TOKEN_FILE \S*two: the token is 2 words; expected/,
      },
    ];
    const results = await Promise.all(rows.map((r) => runToil(r.args, r.env)));
    rows.forEach((r, i) => oneLineRefusal(t, r.what, results[i]!, r.expected));
    t.equal(leader.connections(), 0, 'no command reached for the leader');
  },
);
