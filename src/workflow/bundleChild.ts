import { WorkflowBundleError } from './bundle.js';

/** What the bundling process answers its parent (bundleInChild.ts), once. */
export type BundleReply =
  | { readonly type: 'bundled'; readonly bytes: Uint8Array }
  | { readonly type: 'refused'; readonly why: string }
  | { readonly type: 'failed'; readonly message: string };

/**
 * The bundling process's side: bundles the workflow file named by its one argument with `bundle`
 * and answers its parent over the IPC channel; the parent then ends the process group this process
 * leads, esbuild's service with it. Its parent's leaving (the leader stopped or died) ends the
 * group too, so no build outlives the leader.
 */
export function serveBundle(bundle: (entry: string) => Promise<Uint8Array>): void {
  const entry = process.argv[2];
  process.once('disconnect', endOwnGroup);
  if (entry === undefined || !process.send) {
    process.exitCode = 2;
    return;
  }
  void bundle(entry).then(
    (bytes) => answer({ type: 'bundled', bytes }),
    (e: unknown) =>
      answer(
        e instanceof WorkflowBundleError
          ? { type: 'refused', why: e.why }
          : { type: 'failed', message: e instanceof Error ? e.message : String(e) },
      ),
  );
}

function answer(reply: BundleReply): void {
  process.send?.(reply);
}

function endOwnGroup(): void {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    process.exit(1);
  }
}
