/**
 * The local cloud with Slurm: a running worker instance becomes a real `slurmd` joined to the
 * local controller, instead of a Mesos agent. It plugs into the EC2 stand-in's existing hook
 * (`NodeProcessLauncher`), so the EC2 side does not know which engine its instances serve.
 *
 * It honours the instance's user data, as a booting instance on AWS does: only a worker whose unit
 * runs `toil slurm-node` becomes a slurmd, only when its `--conf-server` is this controller (the
 * EC2 stand-in maps the leader's private address onto it), and with the `--feature`s it names.
 * Where AWS runs `slurmd -Z` (dynamic registration), several dynamic nodes cannot share one host
 * (a second `-Z` node on the same port receives the other's work), so here the node is registered
 * first (`scontrol create`) and its slurmd joins by name: named by its instance id, with the CPUs
 * and memory of its instance type minus the reserve the scaler keeps for the node's own
 * processes. Each node gets a loopback address of its own: the instance's private IP with 127 as
 * its first octet.
 */
import type { Logger } from '../../common/log.js';
import type { AgentSpec, NodeProcess, NodeProcessLauncher } from '../ec2/agents.js';
import { joinSlurmNode, type SlurmController, type SlurmNodeProcess } from './cluster.js';

export interface SlurmdLauncherOptions {
  readonly controller: SlurmController;
  readonly log: Logger;
  /** Memory (MiB) kept back from each node for its own processes. Default 0. */
  readonly reservedMemoryMiB?: number;
}

/** 10.0.3.7 → 127.0.3.7: a loopback address per instance, stable and unique within the VPC. */
export function loopbackFor(privateIp: string): string {
  const parts = privateIp.split('.');
  return parts.length === 4 ? `127.${parts.slice(1).join('.')}` : '127.0.0.2';
}

/** An instance that starts nothing here (a leader, a Mesos worker, another controller's node). */
const NOTHING: NodeProcess = { pid: undefined, stop: async () => {} };

export class SlurmdLauncher implements NodeProcessLauncher {
  readonly engine = 'slurm';
  private readonly o: SlurmdLauncherOptions;

  constructor(options: SlurmdLauncherOptions) {
    this.o = options;
  }

  startAgent(spec: AgentSpec): NodeProcess {
    const features = spec.slurmFeatures;
    const controller = `${this.o.controller.address}:${this.o.controller.port}`;
    if (!features || spec.master !== controller) {
      this.o.log.warn(
        { instanceId: spec.instanceId, confServer: spec.master, controller, slurm: features !== undefined },
        features
          ? 'the user data names another Slurm controller: no slurmd'
          : 'the user data starts no slurmd',
      );
      return NOTHING;
    }
    const node = {
      name: spec.instanceId,
      address: loopbackFor(spec.privateIp),
      cpus: Math.max(1, spec.cpus),
      memoryMb: Math.max(1, spec.memoryMiB - (this.o.reservedMemoryMiB ?? 0)),
      tmpDiskMb: spec.diskMiB,
      features,
    };
    let stopped = false;
    const joined: Promise<SlurmNodeProcess | undefined> = joinSlurmNode(this.o.controller, node).then(
      async (proc) => {
        this.o.log.info({ instanceId: spec.instanceId, address: node.address, features }, 'slurmd joined');
        if (stopped) {
          proc.kill();
          await proc.exited;
        }
        return proc;
      },
      (err: unknown) => {
        this.o.log.warn({ instanceId: spec.instanceId, err }, 'slurmd did not join');
        return undefined;
      },
    );
    return {
      pid: undefined,
      // The instance is gone (terminated, or its spot capacity reclaimed): the machine dies at
      // once with every job on it, as a powered-off instance does; no graceful slurmd shutdown.
      stop: async () => {
        stopped = true;
        const proc = await joined;
        proc?.kill();
        await proc?.exited;
      },
    };
  }
}
