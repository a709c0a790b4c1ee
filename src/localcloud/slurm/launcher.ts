/**
 * The local cloud with Slurm: a running worker instance becomes a real `slurmd` joined to the
 * local controller, instead of a Mesos agent. It plugs into the EC2 stand-in's existing hook
 * (`NodeProcessLauncher`), so the EC2 side does not know which engine its instances serve.
 *
 * What the instance's boot does on AWS, done here for it: the node registers itself with the
 * controller (`scontrol create`, as a dynamic node's user data would), named by its instance id,
 * with feature `spot` or `ondemand` from its `preemptable` attribute, and the CPUs and memory of
 * its instance type minus the reserve the scaler keeps for the node's own processes. Each node
 * gets a loopback address of its own: the instance's private IP with 127 as its first octet.
 */
import type { Logger } from '../../common/log.js';
import type { AgentSpec, NodeProcess, NodeProcessLauncher } from '../ec2/agents.js';
import { joinSlurmNode, type SlurmController, type SlurmNodeProcess } from './cluster.js';

export interface SlurmdLauncherOptions {
  readonly controller: SlurmController;
  readonly log: Logger;
  /** Memory (MiB) kept back from each node for its own processes. Default 0. */
  readonly reservedMemoryMiB?: number;
  readonly spotFeature?: string;
  readonly onDemandFeature?: string;
}

/** 10.0.3.7 → 127.0.3.7: a loopback address per instance, stable and unique within the VPC. */
export function loopbackFor(privateIp: string): string {
  const parts = privateIp.split('.');
  return parts.length === 4 ? `127.${parts.slice(1).join('.')}` : '127.0.0.2';
}

export function isPreemptableAttributes(attributes: Readonly<Record<string, string>>): boolean {
  return /^(true|1)$/i.test(attributes.preemptable ?? attributes.preemptible ?? '');
}

export class SlurmdLauncher implements NodeProcessLauncher {
  private readonly o: SlurmdLauncherOptions;

  constructor(options: SlurmdLauncherOptions) {
    this.o = options;
  }

  startAgent(spec: AgentSpec): NodeProcess {
    const features = [
      isPreemptableAttributes(spec.attributes)
        ? (this.o.spotFeature ?? 'spot')
        : (this.o.onDemandFeature ?? 'ondemand'),
    ];
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
