/** Node's timers overflow past 2^31-1 ms (about 24.8 days): clamp every delay. */
export const MAX_DELAY_MS = 2 ** 31 - 1;

/** Seconds to a timer-safe millisecond delay. */
export function seconds(value: number): number {
  if (!Number.isFinite(value) || value <= 0) return 0;
  return Math.min(Math.round(value * 1000), MAX_DELAY_MS);
}

/** Longest wait between failed background refreshes. */
export const MAX_FRESH_BACKOFF = 300;

/**
 * keepFresh's wait, in milliseconds: after failures a back-off (5, 10, 20 ...
 * s, at most 5 min); else until a tenth of the time left before `expires`
 * (at least a minute, at most 30 % of a short token), minus up to a fifth
 * more as jitter (`jitter` in [0, 1)). `now` is given: machines read no clock.
 */
export function refreshAheadMs(expires: number, failures: number, now: number, jitter: number): number {
  if (failures > 0) return seconds(Math.min(MAX_FRESH_BACKOFF, 5 * 2 ** Math.min(failures - 1, 6)));
  const left = expires - now;
  const margin = Math.min(Math.max(60, left * 0.1), left * 0.3);
  return seconds(Math.max(1, left - margin - jitter * margin * 0.2));
}
