/**
 * The local master's resource arithmetic: scalars (fixed point, 3 decimals, as Mesos) and ranges
 * (ports), with conversions to the two wire shapes — v1 `Resource[]` and the /master/state summary.
 */
import { formatRanges, roundMilli, RESOURCE_EPSILON } from '../../mesos/resources.js';
import type { Range, Resource, ResourceSummary } from '../../mesos/types.js';
import { coalesce } from './agentFlags.js';

export interface ResourceBag {
  scalars: Record<string, number>;
  ranges: Record<string, Range[]>;
}

export function emptyBag(): ResourceBag {
  return { scalars: {}, ranges: {} };
}

export function bagOf(resources: readonly Resource[] | undefined): ResourceBag {
  const bag = emptyBag();
  for (const r of resources ?? []) {
    if (r.type === 'SCALAR' && r.scalar) {
      bag.scalars[r.name] = roundMilli((bag.scalars[r.name] ?? 0) + Number(r.scalar.value));
    } else if (r.type === 'RANGES') {
      bag.ranges[r.name] = coalesce([...(bag.ranges[r.name] ?? []), ...(r.ranges?.range ?? [])]);
    }
  }
  return bag;
}

export function addBags(a: ResourceBag, b: ResourceBag): ResourceBag {
  const out = cloneBag(a);
  for (const [k, v] of Object.entries(b.scalars)) out.scalars[k] = roundMilli((out.scalars[k] ?? 0) + v);
  for (const [k, v] of Object.entries(b.ranges)) out.ranges[k] = coalesce([...(out.ranges[k] ?? []), ...v]);
  return out;
}

export function subtractBags(a: ResourceBag, b: ResourceBag): ResourceBag {
  const out = cloneBag(a);
  for (const [k, v] of Object.entries(b.scalars))
    out.scalars[k] = Math.max(0, roundMilli((out.scalars[k] ?? 0) - v));
  for (const [k, v] of Object.entries(b.ranges)) out.ranges[k] = subtractRanges(out.ranges[k] ?? [], v);
  return out;
}

/** a ⊆ b: every scalar of a at most b's (within 0.001), every range of a inside b's. */
export function containsBag(b: ResourceBag, a: ResourceBag): boolean {
  for (const [k, v] of Object.entries(a.scalars))
    if (v > (b.scalars[k] ?? 0) + RESOURCE_EPSILON) return false;
  for (const [k, v] of Object.entries(a.ranges)) {
    for (const r of v)
      if (!(b.ranges[k] ?? []).some((x) => x.begin <= r.begin && r.end <= x.end)) return false;
  }
  return true;
}

export function isEmptyBag(a: ResourceBag): boolean {
  return (
    Object.values(a.scalars).every((v) => v <= RESOURCE_EPSILON) &&
    Object.values(a.ranges).every((r) => r.length === 0)
  );
}

function cloneBag(a: ResourceBag): ResourceBag {
  return {
    scalars: { ...a.scalars },
    ranges: Object.fromEntries(Object.entries(a.ranges).map(([k, v]) => [k, v.map((r) => ({ ...r }))])),
  };
}

function subtractRanges(have: readonly Range[], take: readonly Range[]): Range[] {
  let out = have.map((r) => ({ ...r }));
  for (const t of take) {
    const next: Range[] = [];
    for (const r of out) {
      if (t.end < r.begin || t.begin > r.end) next.push(r);
      else {
        if (r.begin < t.begin) next.push({ begin: r.begin, end: t.begin - 1 });
        if (t.end < r.end) next.push({ begin: t.end + 1, end: r.end });
      }
    }
    out = next;
  }
  return out;
}

/**
 * v1 resources. `endpoint` adds `role:"*"` (total/allocated/offered in GET_AGENTS, offers to
 * non-refining frameworks); `allocationRole` adds `allocation_info` (MULTI_ROLE offers, allocated).
 */
export function bagToResources(
  a: ResourceBag,
  options: { endpoint?: boolean; allocationRole?: string } = {},
): Resource[] {
  const extra = {
    ...(options.endpoint ? { role: '*' } : {}),
    ...(options.allocationRole ? { allocation_info: { role: options.allocationRole } } : {}),
  };
  const out: Resource[] = [];
  for (const [name, value] of Object.entries(a.scalars)) {
    if (value <= 0) continue;
    out.push({ name, type: 'SCALAR', scalar: { value }, ...extra });
  }
  for (const [name, ranges] of Object.entries(a.ranges)) {
    if (ranges.length === 0) continue;
    out.push({ name, type: 'RANGES', ranges: { range: ranges.map((r) => ({ ...r })) }, ...extra });
  }
  return out;
}

/** The /master/state summary: cpus, gpus, mem, disk always present; other scalars; ranges as strings. */
export function bagToSummary(a: ResourceBag): ResourceSummary {
  const summary: Record<string, number | string> = {
    disk: a.scalars['disk'] ?? 0,
    mem: a.scalars['mem'] ?? 0,
    gpus: a.scalars['gpus'] ?? 0,
    cpus: a.scalars['cpus'] ?? 0,
  };
  for (const [k, v] of Object.entries(a.scalars)) if (!(k in summary)) summary[k] = v;
  for (const [k, v] of Object.entries(a.ranges)) if (v.length > 0) summary[k] = formatRanges(v);
  return summary as ResourceSummary;
}
