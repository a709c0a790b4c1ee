/**
 * Resources and attributes in both of Mesos' shapes: the v1 protobuf arrays (offers, GET_AGENTS)
 * and the /master/state summaries and attribute objects. Memory and disk are MB (MiB) in Mesos.
 */
import type { Attribute, Range, Resource, ResourceSummary } from './types.js';

/** Mesos does scalar math in fixed point with 3 decimals: compare with this tolerance. */
export const RESOURCE_EPSILON = 0.001;

/** The scalar resources we schedule on, in Mesos units (cpus, MB, MB). */
export interface Scalars {
  cpus: number;
  mem: number;
  disk: number;
}

/** Sums each scalar by name over every entry (roles and reservations give several per name). */
export function sumScalars(resources: readonly Resource[] | undefined): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const r of resources ?? []) {
    if (r.type !== 'SCALAR' || !r.scalar) continue;
    sums[r.name] = roundMilli((sums[r.name] ?? 0) + Number(r.scalar.value));
  }
  return sums;
}

export function scalarsOf(resources: readonly Resource[] | undefined): Scalars {
  const s = sumScalars(resources);
  return { cpus: s['cpus'] ?? 0, mem: s['mem'] ?? 0, disk: s['disk'] ?? 0 };
}

/** Scalars out of a /master/state summary (which always carries cpus, gpus, mem and disk). */
export function scalarsOfSummary(summary: Partial<ResourceSummary> | undefined): Scalars {
  const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v ?? 0) || 0);
  return { cpus: num(summary?.cpus), mem: num(summary?.mem), disk: num(summary?.disk) };
}

export function fits(need: Scalars, have: Scalars): boolean {
  return (
    need.cpus <= have.cpus + RESOURCE_EPSILON &&
    need.mem <= have.mem + RESOURCE_EPSILON &&
    need.disk <= have.disk + RESOURCE_EPSILON
  );
}

export function subtract(a: Scalars, b: Scalars): Scalars {
  return {
    cpus: roundMilli(a.cpus - b.cpus),
    mem: roundMilli(a.mem - b.mem),
    disk: roundMilli(a.disk - b.disk),
  };
}

export function roundMilli(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** v1 scalar resources for a task (unreserved: no role, the master injects allocation info). */
export function scalarResources(s: Scalars): Resource[] {
  return (['cpus', 'mem', 'disk'] as const)
    .filter((name) => s[name] > 0)
    .map((name) => ({ name, type: 'SCALAR' as const, scalar: { value: s[name] } }));
}

/** The value of an attribute, from either shape, as Mesos would print it in /master/state. */
export function attributeValue(a: Attribute): string | number | undefined {
  switch (a.type) {
    case 'TEXT':
      return a.text?.value;
    case 'SCALAR':
      return a.scalar?.value;
    case 'RANGES':
      return formatRanges(a.ranges?.range ?? []);
    case 'SET':
      return `{${(a.set?.item ?? []).join(', ')}}`;
    default:
      return undefined;
  }
}

/** `[a-b, c-d]`, as /master/state prints ranges. */
export function formatRanges(ranges: readonly Range[]): string {
  return `[${ranges.map((r) => `${r.begin}-${r.end}`).join(', ')}]`;
}

/** The attributes as a name→value object, the /master/state shape. */
export function attributesToObject(
  attributes: readonly Attribute[] | undefined,
): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const a of attributes ?? []) {
    const v = attributeValue(a);
    if (v !== undefined) out[a.name] = v;
  }
  return out;
}

/**
 * Whether an agent is preemptable (a spot node), from its attributes in either shape. Toil ≤5.8
 * wrote `preemptable`, 5.9+ writes `preemptible` (mesos.md §4); both are read. Toil writes Python's
 * `True`/`False`; we also take `true`/`false`/`1`/`0` rather than crash. A missing attribute means
 * on-demand, as in Toil (the safe side: non-preemptable jobs may run there).
 */
export function isPreemptableAgent(
  attributes: readonly Attribute[] | Readonly<Record<string, string | number>> | undefined,
): boolean {
  const obj = Array.isArray(attributes)
    ? attributesToObject(attributes as readonly Attribute[])
    : ((attributes ?? {}) as Readonly<Record<string, string | number>>);
  for (const key of ['preemptable', 'preemptible']) {
    const v = obj[key];
    if (v === undefined) continue;
    const s = String(v).toLowerCase();
    if (s === 'true' || s === '1') return true;
    if (s === 'false' || s === '0') return false;
  }
  return false;
}

const MIB = 1024 * 1024;

/** A job's bytes → Mesos MB, rounded up and at least 1 (as Toil does). */
export function bytesToMesosMb(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / MIB));
}
