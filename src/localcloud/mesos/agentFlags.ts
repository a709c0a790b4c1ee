/**
 * `mesos-agent --resources` and `--attributes` as Mesos parses them (mesos.md §4):
 * entries split on `;` or newline, each split at the first `:`; attribute values have all spaces
 * removed; `[a-b,c-d]` is RANGES, a finite non-negative number is SCALAR, anything else TEXT;
 * SET values are refused for attributes.
 */
import { UserInputError } from '../../common/errors.js';
import type { Attribute, Range, Resource } from '../../mesos/types.js';

function entries(text: string, flag: string): [string, string][] {
  const out: [string, string][] = [];
  for (const raw of text.split(/[;\n]/)) {
    const entry = raw.trim();
    if (entry === '') continue;
    const colon = entry.indexOf(':');
    const key = colon < 0 ? '' : entry.slice(0, colon).trim();
    const value = colon < 0 ? '' : entry.slice(colon + 1);
    if (key === '' || value.trim() === '') {
      throw new UserInputError('MESOS_AGENT_FLAG', `${flag}: '${entry}' is not NAME:VALUE`);
    }
    out.push([key, value]);
  }
  return out;
}

function parseRanges(value: string, flag: string): Range[] {
  const inner = value.slice(1, -1).trim();
  const ranges: Range[] = [];
  if (!value.endsWith(']'))
    throw new UserInputError('MESOS_AGENT_FLAG', `${flag}: '${value}' is not a range list`);
  for (const part of inner.split(',')) {
    if (part.trim() === '') continue;
    const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(part);
    if (!m || Number(m[1]) > Number(m[2])) {
      throw new UserInputError('MESOS_AGENT_FLAG', `${flag}: '${part}' is not a range 'begin-end'`);
    }
    ranges.push({ begin: Number(m[1]), end: Number(m[2]) });
  }
  return coalesce(ranges);
}

export function coalesce(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a.begin - b.begin);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.begin <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/** `cpus:2;mem:4096;disk:10000;ports:[31000-32000]` → v1 resources (no role: unreserved). */
export function parseResourcesFlag(text: string): Resource[] {
  const resources: Resource[] = [];
  for (const [name, rawValue] of entries(text, '--resources')) {
    const value = rawValue.trim();
    if (value.startsWith('[')) {
      resources.push({ name, type: 'RANGES', ranges: { range: parseRanges(value, '--resources') } });
    } else if (value.startsWith('{')) {
      const items = value
        .slice(1, -1)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      resources.push({ name, type: 'SET', set: { item: items } });
    } else {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) {
        throw new UserInputError(
          'MESOS_AGENT_FLAG',
          `--resources: '${name}:${value}' is not a non-negative number`,
        );
      }
      resources.push({ name, type: 'SCALAR', scalar: { value: n } });
    }
  }
  return resources;
}

/** `preemptable:true;rack:abc;level:10;keys:[1000-1500]` → v1 attributes, in order. */
export function parseAttributesFlag(text: string): Attribute[] {
  const attributes: Attribute[] = [];
  for (const [name, rawValue] of entries(text, '--attributes')) {
    const value = rawValue.replace(/\s+/g, '');
    if (value.startsWith('{')) {
      throw new UserInputError(
        'MESOS_AGENT_FLAG',
        `--attributes: '${name}' is a SET, which attributes cannot be`,
      );
    }
    if (value.startsWith('[')) {
      attributes.push({ name, type: 'RANGES', ranges: { range: parseRanges(value, '--attributes') } });
      continue;
    }
    const n = Number(value);
    if (/^[0-9.eE+-]+$/.test(value) && Number.isFinite(n) && n >= 0) {
      attributes.push({ name, type: 'SCALAR', scalar: { value: n } });
    } else {
      attributes.push({ name, type: 'TEXT', text: { value } });
    }
  }
  return attributes;
}
