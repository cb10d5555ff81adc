// Keeps this instance under D3's request rate (docs/interface.md, "Pacing"): at most
// `maxPerSecond` requests, retries included, in any one-second window.
//
// Written by hand because the libraries at hand either burst a window's worth
// at once (which a strict sliding-window server answers with 429s) or cannot
// refuse a slot that would come after the invocation's deadline. This one
// paces evenly, reserves slots first-come first-served, and declines a slot it
// could only give too late, so the caller can answer before Lambda times out.

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface RateLimiterOptions {
  maxPerSecond: number;
  /**
   * Added to the one-second window. Requests leave here evenly spaced, but
   * arrive at D3 with network jitter; the margin keeps a strict server from
   * seeing the 51st request a hair inside the same second as the 1st.
   */
  marginMs?: number;
  now?: () => number;
}

export class RateLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #intervalMs: number;
  readonly #now: () => number;
  /** Start times of the most recent grants, oldest first, at most #max of them. */
  readonly #granted: number[] = [];
  #nextSlot = Number.NEGATIVE_INFINITY;

  constructor({ maxPerSecond, marginMs = 25, now = () => performance.now() }: RateLimiterOptions) {
    this.#max = maxPerSecond;
    this.#windowMs = 1000 + marginMs;
    this.#intervalMs = this.#windowMs / maxPerSecond;
    this.#now = now;
  }

  /**
   * Waits for the next slot and takes it. Returns false at once, taking
   * nothing, when that slot is more than `maxWaitMs` away.
   */
  async acquire(maxWaitMs: number): Promise<boolean> {
    const now = this.#now();
    const slot = Math.max(now, this.#nextSlot);
    if (slot - now > maxWaitMs) return false;
    this.#nextSlot = slot + this.#intervalMs;
    if (slot > now) await sleep(slot - now);

    // A timer that fires late can bunch this grant up with the ones after it;
    // the log of real grant times is what guarantees the window.
    for (;;) {
      const at = this.#now();
      const oldest = this.#granted.length >= this.#max ? this.#granted[this.#granted.length - this.#max]! : undefined;
      const wait = oldest === undefined ? 0 : oldest + this.#windowMs - at;
      if (wait <= 0) {
        this.#granted.push(at);
        if (this.#granted.length > this.#max) this.#granted.shift();
        return true;
      }
      await sleep(wait);
    }
  }
}
