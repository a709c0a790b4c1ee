/**
 * Who may run workflow code (a module's load, `start`, `finish`) in the daemon's host processes
 * at a time: a run under suspicion of having killed the last leader runs its code alone, every
 * other run's code runs alongside the rest. Were a suspect's code to run beside another run's and
 * the leader die again, both would be charged for it and an innocent run failed with the guilty.
 *
 * First come, first served: a run that must run alone waits for the calls already in, and calls
 * asked for after it wait for it, so a stream of other runs' calls never keeps it out.
 */
export class CodeGate {
  private inside = 0;
  private aloneInside = false;
  private readonly waiting: { readonly alone: boolean; readonly admit: () => void }[] = [];

  /** Resolves once the call may run, with what lets the next ones in when it is done. */
  enter(alone: boolean): Promise<() => void> {
    return new Promise((resolve) => {
      this.waiting.push({ alone, admit: () => resolve(this.leaver(alone)) });
      this.admit();
    });
  }

  private leaver(alone: boolean): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.inside--;
      if (alone) this.aloneInside = false;
      this.admit();
    };
  }

  private admit(): void {
    for (;;) {
      const next = this.waiting[0];
      if (!next || this.aloneInside || (next.alone && this.inside > 0)) return;
      this.waiting.shift();
      this.inside++;
      if (next.alone) this.aloneInside = true;
      next.admit();
    }
  }
}
