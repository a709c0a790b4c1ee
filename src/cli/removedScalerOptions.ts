import { refused, type ForeignOption } from './foreignOptions.js';

const REMOVED = 'Toil removed this option';

/**
 * Toil 3.x's scaler options, in its docs of the time beside --nodeType and --preemptableNodeType
 * (which toil-ts takes): Toil's parser now refuses them. Refused, saying what to give instead, by
 * each command that takes Toil's scaler flags (`toil run`, `toil simulate`), not met with a bare
 * "unknown option" (or, on `toil run`, the workflow's parser blaming itself).
 */
export const REMOVED_SCALER_OPTIONS: readonly ForeignOption[] = [
  ...refused(
    'value',
    `${REMOVED} (its AWS provisioner took none); give the worker types with --nodeTypes (e.g. --nodeTypes c5.large) and their root volume with --nodeStorage GiB`,
    '--nodeOptions',
  ),
  ...refused(
    'value',
    `${REMOVED} (its AWS provisioner took none); give spot worker types with their bid in --nodeTypes (e.g. --nodeTypes c5.large:0.05) and their root volume with --nodeStorage GiB`,
    '--preemptableNodeOptions',
  ),
  ...refused(
    'value',
    `${REMOVED} when it rewrote its autoscaler: the scaler packs the queued jobs onto nodes itself, with no multiplier; leave it out (for more nodes sooner, lower --targetTime, default 1800 s)`,
    '--alphaPacking',
  ),
];
