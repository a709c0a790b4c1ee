import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import {
  MAX_ERROR_MESSAGE_CHARS,
  hasUserFrame,
  packageCode,
  userStack,
} from '../../src/workflow/jobError.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * The stack of a workflow's error keeps the frames of the user's source only. The package's own
 * frames are told by where their files really are: Node prints a module's real path, so a
 * node_modules reached through a symlink must not let its frames through.
 */

/** A package whose node_modules is a symlink, one of whose packages is a symlink too, and user code beside it. */
function layout(dir: string) {
  const file = (path: string): string => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, '');
    return path;
  };
  const paths = {
    realModules: join(dir, 'store/node_modules'),
    command: file(join(dir, 'store/node_modules/commander/lib/command.js')),
    linkedDep: file(join(dir, 'elsewhere/linked-dep/index.js')),
    scopedDep: file(join(dir, 'elsewhere/scoped/index.js')),
    own: file(join(dir, 'toil-ts/dist/src/workflow/worker.js')),
    user: file(join(dir, 'project/workflow.ts')),
    root: join(dir, 'toil-ts'),
    alias: join(dir, 'toil-ts-link'),
  };
  symlinkSync(paths.realModules, join(paths.root, 'node_modules'));
  symlinkSync(dirname(paths.linkedDep), join(paths.realModules, 'linked-dep'));
  mkdirSync(join(paths.realModules, '@scope'));
  symlinkSync(dirname(paths.scopedDep), join(paths.realModules, '@scope/dep'));
  symlinkSync(paths.root, paths.alias);
  return paths;
}

t.test("a symlinked node_modules: its packages' frames are left out under either spelling", async (t) => {
  const p = layout(testDir(t, {}));
  const code = packageCode(p.root);
  const userFrame = `    at record (${p.user}:40:13)`;
  const cases: [string, string][] = [
    ['the real path Node prints', `    at Command.parseAsync (${p.command}:1122:5)`],
    [
      'the spelling through the symlink',
      `    at async Command.parseAsync (${join(p.root, 'node_modules/commander/lib/command.js')}:1:1)`,
    ],
    ['a file: URL of the real path', `    at ${pathToFileURL(p.command).href}:3:4`],
    ['a package of node_modules that is a symlink', `    at dep (${p.linkedDep}:1:1)`],
    ['a scoped package that is a symlink', `    at scoped (${p.scopedDep}:2:2)`],
    [
      "the package's own code through a symlink to its root",
      `    at runJob (${join(p.alias, 'dist/src/workflow/worker.js')}:5:6)`,
    ],
    ['its own code as it is', `    at runJob (${p.own}:5:6)`],
    // How toil run calls a workflow's start() and finish() (breakableByCtrlC).
    ['the script Node runs them in', '    at Script.runInContext (node:vm:147:14)'],
  ];
  for (const [what, frame] of cases) {
    const e = new Error('boom');
    e.stack = ['Error: boom', userFrame, frame, '    at node:internal/process/task_queues:95:5'].join('\n');
    t.equal(userStack(e, code), `Error: boom\n${userFrame}`, what);
  }
});

t.test("the user's frames stay, and the first frame when none is the user's", async (t) => {
  const p = layout(testDir(t, {}));
  const code = packageCode(p.root);
  const e = new Error('boom');
  const frames = [
    `    at a (${p.user}:1:1)`,
    `    at b (${join(p.alias, '..', 'project/workflow.ts')}:2:2)`,
    `    at ${pathToFileURL(p.user).href}:3:3`,
    '    at <anonymous>',
    '    at new Promise (<anonymous>)',
  ];
  e.stack = ['Error: boom', ...frames, `    at c (${p.command}:4:4)`].join('\n');
  t.equal(userStack(e, code), ['Error: boom', ...frames].join('\n'));
  const inside = new Error('deep');
  inside.stack = ['Error: deep', `    at c (${p.command}:4:4)`, `    at d (${p.own}:5:5)`].join('\n');
  t.equal(userStack(inside, code), `Error: deep\n    at c (${p.command}:4:4)`);
});

t.test(
  "a built-in's frame alone is not the user's; an error of ours that says it all shows no frame",
  async (t) => {
    const p = layout(testDir(t, {}));
    const code = packageCode(p.root);
    const e = new Error('refused');
    e.stack = [
      'Error: refused',
      '    at JSON.stringify (<anonymous>)',
      `    at encode (${p.command}:4:4)`,
    ].join('\n');
    t.equal(
      userStack(e, code),
      'Error: refused\n    at JSON.stringify (<anonymous>)',
      "the first frame, as with none of the user's",
    );
    t.equal(userStack(e, code, false), 'Error: refused', 'ownFrame false: the message alone');
    const theirs = new Error('theirs');
    theirs.stack = ['Error: theirs', '    at JSON.stringify (<anonymous>)', `    at a (${p.user}:1:1)`].join(
      '\n',
    );
    t.equal(userStack(theirs, code, false), theirs.stack, "the user's frames stay, the built-in's with them");
  },
);

t.test(
  "a message longer than 64 Ki characters keeps its start, says how much was left out, and the user's frames",
  async (t) => {
    const p = layout(testDir(t, {}));
    const code = packageCode(p.root);
    const e = new Error(`rows: ${'r'.repeat(3 * MAX_ERROR_MESSAGE_CHARS)}`);
    const frame = `    at a (${p.user}:1:1)`;
    e.stack = [`Error: ${e.message}`, frame].join('\n');
    const shown = userStack(e, code);
    t.ok(shown.length < MAX_ERROR_MESSAGE_CHARS + 500, `${shown.length} characters`);
    t.match(shown, /^Error: rows: r+… \[\d+ more characters of the message left out\]\n/);
    const left = Number(/\[(\d+) more characters/.exec(shown)?.[1]);
    t.equal(left, `Error: ${e.message}`.length - MAX_ERROR_MESSAGE_CHARS, 'counted');
    t.ok(shown.endsWith(`\n${frame}`), 'the frames follow');
    t.equal(
      userStack('s'.repeat(MAX_ERROR_MESSAGE_CHARS + 7), code).length,
      MAX_ERROR_MESSAGE_CHARS + '… [7 more characters of the message left out]'.length,
      'a thrown string too',
    );
    const short = new Error('boom');
    short.stack = ['Error: boom', frame].join('\n');
    t.equal(userStack(short, code), `Error: boom\n${frame}`, 'a short one as it was');
  },
);

/**
 * A thrown value that is not an Error (`throw err` with err undefined, a rejection with a plain
 * object) has no stack: the failure said a bare "undefined" or "null". It says it was such a value
 * and how to get a line; a thrown string stays as written.
 */
t.test('a thrown non-Error says it is one, a thrown string stays as it is', async (t) => {
  const tail = 'not an Error, so no stack to show where: throw new Error(...) instead)';
  t.equal(userStack(undefined), `undefined (a thrown undefined, ${tail}`);
  t.equal(userStack(null), `null (a thrown null, ${tail}`);
  t.equal(userStack({ code: 42 }), `{"code":42} (a thrown object, ${tail}`);
  t.equal(userStack(7), `7 (a thrown number, ${tail}`);
  t.equal(userStack('a plain string'), 'a plain string');
});

t.test("an error is the workflow's only with a frame of the user's own code", async (t) => {
  const own = packageCode('/opt/toil-ts');
  const withFrames = (...frames: string[]): Error => {
    const e = new Error('boom');
    e.stack = ['Error: boom', ...frames.map((f) => `    at ${f}`)].join('\n');
    return e;
  };
  const rows: [name: string, e: unknown, want: boolean][] = [
    [
      'a frame of the workflow file',
      withFrames('Timeout._onTimeout (/home/u/wf.ts:3:5)', 'listOnTimeout (node:internal/timers:581:17)'),
      true,
    ],
    [
      'frames of toil-ts and Node only',
      withFrames(
        'tick (/opt/toil-ts/dist/src/leader/run.js:9:1)',
        'process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
      ),
      false,
    ],
    ['a dependency of toil-ts', withFrames('x (/opt/toil-ts/node_modules/p-queue/dist/index.js:1:1)'), false],
    ['a built-in alone', withFrames('JSON.parse (<anonymous>)'), false],
    ['not an Error', 'a string', false],
  ];
  for (const [name, e, want] of rows) t.equal(hasUserFrame(e, own), want, name);
});
