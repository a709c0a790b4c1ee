import { z } from 'zod';
import { ConfigError, deepFreeze, describeZodIssues } from '../common/configErrors.js';
import type { Architecture } from './types.js';

const GiB = 2 ** 30;

/** One instance type as the catalogue file writes it (sizes in GiB, as EC2 advertises them). */
const CatalogueEntrySchema = z
  .object({
    cores: z.number().positive(),
    memoryGiB: z.number().positive(),
    /** Total instance-store GiB; 0 means EBS-only (the node's disk is then the root volume). */
    instanceStoreGiB: z.number().min(0),
    architecture: z.enum(['x86_64', 'arm64']),
    gpus: z.number().int().min(0),
    /** On-demand USD/h per region. */
    onDemandPrice: z.record(z.string(), z.number().min(0)),
  })
  .strict();

const CatalogueSchema = z
  .object({
    $comment: z.string().optional(),
    regions: z.array(z.string()).min(1),
    instanceTypes: z.record(z.string(), CatalogueEntrySchema),
  })
  .strict();

export interface CatalogueEntry {
  readonly name: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly instanceStoreBytes: number;
  readonly architecture: Architecture;
  readonly gpus: number;
  readonly onDemandPrice: Readonly<Record<string, number>>;
}

/** The instance types the scaler may know about, by name. */
export interface Catalogue {
  readonly regions: readonly string[];
  readonly types: ReadonlyMap<string, CatalogueEntry>;
}

/**
 * Validates a parsed catalogue document (config/instances.json or an override) and returns it
 * frozen. Throws ConfigError naming every bad field.
 */
export function parseCatalogue(doc: unknown, source = 'instance catalogue'): Catalogue {
  const result = CatalogueSchema.safeParse(doc);
  if (!result.success)
    throw new ConfigError(source, describeZodIssues(result.error.issues, [], CatalogueSchema));
  const types = new Map<string, CatalogueEntry>();
  for (const [name, e] of Object.entries(result.data.instanceTypes)) {
    types.set(
      name,
      deepFreeze({
        name,
        cores: e.cores,
        memoryBytes: Math.round(e.memoryGiB * GiB),
        instanceStoreBytes: Math.round(e.instanceStoreGiB * GiB),
        architecture: e.architecture,
        gpus: e.gpus,
        onDemandPrice: e.onDemandPrice,
      }),
    );
  }
  return Object.freeze({ regions: Object.freeze([...result.data.regions]), types });
}

/** Names in `candidates` closest to `name` (for "did you mean"), best first. */
export function closestNames(name: string, candidates: Iterable<string>, max = 3): string[] {
  const scored: { c: string; d: number }[] = [];
  for (const c of candidates) scored.push({ c, d: editDistance(name.toLowerCase(), c.toLowerCase()) });
  scored.sort((a, b) => a.d - b.d || a.c.localeCompare(b.c));
  const limit = Math.max(2, Math.floor(name.length / 3));
  return scored
    .filter((s) => s.d <= limit)
    .slice(0, max)
    .map((s) => s.c);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[b.length]!;
}
