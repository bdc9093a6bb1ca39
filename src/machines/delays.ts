/** Node's timers overflow past 2^31-1 ms (about 24.8 days): clamp every delay. */
export const MAX_DELAY_MS = 2 ** 31 - 1;

/** Seconds to a timer-safe millisecond delay. */
export function seconds(value: number): number {
  if (!Number.isFinite(value) || value <= 0) return 0;
  return Math.min(Math.round(value * 1000), MAX_DELAY_MS);
}
