// Wakes whoever waits for "something changed" (the local queue, its runner),
// so that they wait for a fact to hold instead of polling on a timer.

export class Notifier {
  #waiters = new Set<() => void>();

  /** Resolves at the next notify(), or when `signal` aborts (at once if it has). */
  wait(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        this.#waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.#waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}
