import { availableParallelism, totalmem } from 'node:os';
import t from 'tap';
import { RealClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { createBatchSystem, singleMachineRoom } from '../../src/main/batchSystems.js';
import { testDir } from '../fixtures/testDir.js';

const GiB = 2 ** 30;
const MACHINE = { cores: 2, memory: 8 * GiB, disk: 100 * GiB };

t.test(
  "single_machine's room: a cap above the machine is lowered to it, with a line, as Toil does",
  async (t) => {
    t.same(singleMachineRoom({ maxCores: 64, maxMemory: 1024 * GiB, maxDisk: 1024 * 1024 * GiB }, MACHINE), {
      maxCores: 2,
      maxMemory: 8 * GiB,
      maxDisk: 100 * GiB,
      notices: [
        "toil: --maxCores 64 is more than this machine's 2 cores: single_machine uses 2",
        "toil: --maxMemory 1.0 TiB is more than this machine's 8.0 GiB of memory: single_machine uses 8.0 GiB",
        "toil: --maxDisk 1.0 PiB is more than the 100.0 GiB of the work directory's file system: single_machine uses 100.0 GiB",
      ],
    });
    t.same(
      singleMachineRoom({ maxCores: 0.5, maxMemory: 8 * GiB }, MACHINE),
      { maxCores: 0.5, maxMemory: 8 * GiB, maxDisk: 100 * GiB, notices: [] },
      'at or below the machine: kept, said nothing; absent: the machine',
    );
  },
);

t.test(
  '--maxCores above the machine: the single_machine batch system has the machine, not the cap',
  async (t) => {
    const notices: string[] = [];
    const cores = availableParallelism();
    const batchSystem = createBatchSystem('single_machine', {
      clock: new RealClock(),
      log: silentLogger(),
      maxCores: cores + 62,
      maxMemory: 2 * totalmem(),
      workDir: testDir(t),
      notice: (line) => notices.push(line),
    });
    const largest = batchSystem.maxJobRequirements?.();
    t.equal(largest?.cores, cores);
    t.equal(largest?.memory, totalmem());
    t.equal(notices.length, 2);
    t.match(
      notices[0],
      `toil: --maxCores ${cores + 62} is more than this machine's ${cores} cores: single_machine uses ${cores}`,
    );
  },
);
