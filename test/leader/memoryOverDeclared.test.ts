import t from 'tap';
import { jobOwnMemory, MemoryOverDeclared, suggestedMemory } from '../../src/leader/memoryOverDeclared.js';

const MI = 2 ** 20;
const GI = 2 ** 30;

t.test('a job that used more memory than it declares is warned of with the memory to declare', async (t) => {
  const over = new MemoryOverDeclared();
  t.equal(
    over.check('hog', 100 * MI, 253.2 * MI),
    "job 'hog' used 253.2 MiB of memory at its peak (what its worker process's resident memory grew by while it ran), " +
      'more than the 100.0 MiB it declares; ' +
      "a batch system places jobs by the memory they declare, so its node may run short: declare memory: '279Mi' (its peak and a tenth more)",
  );
  t.match(
    over.check('sized', 3e9, 3.5e9),
    /more than the 3\.0 GB it declares; /,
    'the declaration in the units written',
  );
});

t.test('a job within its declared memory is not warned of', async (t) => {
  const over = new MemoryOverDeclared();
  t.equal(over.check('fits', 100 * MI, 99 * MI), undefined, 'under');
  t.equal(over.check('fits', 100 * MI, 100 * MI), undefined, 'exactly what it declares');
});

t.test('a job name warned of is warned of again only past the memory the warning suggested', async (t) => {
  const over = new MemoryOverDeclared();
  t.ok(over.check('leaf', 64 * MI, 70 * MI), 'the first copy over');
  t.equal(over.check('leaf', 64 * MI, 70 * MI), undefined, 'a second copy as big: said once');
  t.equal(over.check('leaf', 64 * MI, 77 * MI), undefined, 'within the 77Mi suggested');
  t.match(over.check('leaf', 64 * MI, 90 * MI), /declare memory: '99Mi'/, 'past it: said again, with more');
  t.ok(over.check('other', 64 * MI, 70 * MI), 'another name is its own');
});

t.test(
  'the suggested memory: the peak and a tenth, whole MiB below 10 GiB, tenths of a GiB above',
  async (t) => {
    const rows: [name: string, peak: number, text: string][] = [
      ['a whole MiB stays whole', 100 * MI, '110Mi'],
      ['a part of a MiB rounds up', 100 * MI + 1, '111Mi'],
      ['under 10 GiB with its tenth: still MiB', 9 * GI, '10138Mi'],
      ['past 10 GiB with its tenth: tenths of a GiB', 9.5 * GI, '10.5Gi'],
      ['12 GiB: 13.2, not 13.3 from 1.1 in binary', 12 * GI, '13.2Gi'],
    ];
    for (const [name, peak, text] of rows) {
      const s = suggestedMemory(peak);
      t.equal(s.text, text, name);
      t.ok(s.bytes >= peak * 1.1 - 1, `${name}: covers the peak and a tenth`);
    }
  },
);

t.test(
  "a job's own memory is its worker's peak above the worker's resident memory as it started",
  async (t) => {
    t.equal(jobOwnMemory(300 * MI, 298 * MI), 2 * MI, 'a warm worker that held 298 MiB: the job added 2');
    t.equal(jobOwnMemory(298 * MI, 298 * MI), 0, 'added nothing');
    t.equal(jobOwnMemory(300 * MI), 300 * MI, 'a commit with no start recorded: its whole peak');
  },
);
