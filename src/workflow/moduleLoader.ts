import { mkdir, readdir, rename, rmdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import { markUserCodeLoaded } from '../common/userCodeLoaded.js';
import type { ModuleRef } from '../jobstore/jobRecords.js';
import type { JobStore } from '../jobstore/jobStore.js';
import { isWorkflowDefinition, jobRegistry, type JobDefinition, type WorkflowDefinition } from './api.js';

/** A loaded workflow module: its default export and the jobs it defined. */
export interface LoadedWorkflow {
  readonly workflow: WorkflowDefinition<unknown> | undefined;
  readonly jobs: ReadonlyMap<string, JobDefinition<unknown, unknown>>;
  /** Of `jobs`, those that run a service (a module bundled with an older API lists none). */
  readonly services: ReadonlySet<string>;
}

const loaded = new Map<string, Promise<LoadedWorkflow>>();

/**
 * Imports a bundled workflow module from a local file, once per process, and collects the job
 * definitions its top level registered (the registry is shared through globalThis, so the
 * bundle's copy of the API and ours agree).
 */
export function loadWorkflowFile(path: string): Promise<LoadedWorkflow> {
  let p = loaded.get(path);
  if (!p) {
    p = (async () => {
      const registry = jobRegistry();
      const previous = registry.current;
      const previousServices = registry.services;
      registry.current = new Map();
      registry.services = new Set();
      registry.loading = (registry.loading ?? 0) + 1;
      // Stacks of the workflow's code name the user's source lines (the bundle carries a source
      // map); modules loaded before this point are not affected.
      process.setSourceMapsEnabled(true);
      markUserCodeLoaded();
      try {
        const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
        return {
          workflow: isWorkflowDefinition(mod.default) ? mod.default : undefined,
          jobs: registry.current,
          services: registry.services,
        };
      } finally {
        registry.current = previous;
        registry.services = previousServices;
        registry.loading = (registry.loading ?? 1) - 1;
      }
    })();
    loaded.set(path, p);
    p.catch(() => loaded.delete(path));
  }
  return p;
}

/**
 * Loads the workflow module a job store holds. The bundle is cached on local disk by its etag,
 * so a node fetches it once however many jobs it runs.
 */
export async function loadWorkflowModule(
  store: JobStore,
  ref: ModuleRef,
  cacheDir: string,
): Promise<LoadedWorkflow> {
  return loadWorkflowFile(await fetchWorkflowModule(store, ref, cacheDir));
}

/**
 * A cached module untouched this long is removed when another is cached: every run of a changed
 * workflow caches one more, and the work directory (the temp dir by default) is shared by every
 * run of the machine. A run in use touches its module whenever a worker looks it up, so only
 * modules nobody has used for a week go; one removed anyway is fetched again from its job store.
 */
export const MODULE_CACHE_MAX_AGE_MS = 7 * 24 * 3600_000;

/** The path of `ref`'s copy in `cacheDir`. */
export function cachedModulePath(cacheDir: string, ref: ModuleRef): string {
  return join(cacheDir, `${ref.etag.replace(/[^A-Za-z0-9_-]/g, '')}-${ref.size}.mjs`);
}

/**
 * Removes `ref`'s copy from `cacheDir`, and the directory once empty: what a run that ends leaves
 * of itself in a work directory the user named. Another run of the same module, if any, fetches
 * it again from its store (fetchWorkflowModule); a module already imported stays loaded.
 */
export async function removeCachedModule(cacheDir: string, ref: ModuleRef): Promise<void> {
  await unlink(cachedModulePath(cacheDir, ref)).catch(() => undefined);
  await rmdir(cacheDir).catch(() => undefined); // ENOTEMPTY: other runs' modules are there
}

/** The local path of the workflow module a job store holds, fetched into `cacheDir` once. */
export async function fetchWorkflowModule(
  store: JobStore,
  ref: ModuleRef,
  cacheDir: string,
  now: () => number = Date.now,
): Promise<string> {
  const path = cachedModulePath(cacheDir, ref);
  if (!loaded.has(path)) {
    const present = await stat(path).then(
      (s) => s.size === ref.size,
      () => false,
    );
    if (present) {
      const at = new Date(now());
      await utimes(path, at, at).catch(() => undefined);
    } else {
      const bytes = await store.getModule(ref);
      await mkdir(cacheDir, { recursive: true });
      const tmp = `${path}.${randomUUID()}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, path);
      await pruneModuleCache(cacheDir, path, now());
    }
  }
  return path;
}

/** Removes the cache's modules (and a crashed write's temp files) untouched for MODULE_CACHE_MAX_AGE_MS. */
async function pruneModuleCache(cacheDir: string, keep: string, now: number): Promise<void> {
  const names = await readdir(cacheDir).catch(() => [] as string[]);
  for (const name of names) {
    const file = join(cacheDir, name);
    if (file === keep || !(name.endsWith('.mjs') || name.endsWith('.tmp'))) continue;
    const s = await stat(file).catch(() => undefined);
    if (s && now - s.mtimeMs > MODULE_CACHE_MAX_AGE_MS) await unlink(file).catch(() => undefined);
  }
}
