/**
 * When a small recommend call may run on the calling thread. Inline, a one-user SANSA call on
 * Gowalla took a median 83 µs against 159-187 µs through a worker thread (2-core AMD EPYC). But a
 * server whose event loop is busy with its own work (parsing requests, writing replies) serves more
 * requests per second, at lower latency, when that work overlaps with scoring on worker threads.
 * So inline calls are allowed while the loop is mostly idle apart from cfkit's inline calls.
 *
 * Measured shares of other work (2-core AMD EPYC): a caller awaiting one SANSA call at a time,
 * 0.1-0.4; examples/http-service under 10 closed-loop connections, 0.5-0.7 (0.6-0.7 with scoring on
 * worker threads, where it served 6,000 requests per second against 4,500 inline). The two
 * thresholds keep a loop near one of them from switching back and forth.
 */
import { performance } from 'node:perf_hooks';

/** Above this share of a window spent on other work, calls go to worker threads... */
export const BUSY_ABOVE = 0.5;
/** ...until a window's share falls below this. */
export const IDLE_BELOW = 0.35;
/** How often the share is measured, in milliseconds. */
const WINDOW_MS = 20;

let last = performance.eventLoopUtilization();
let windowStart = performance.now();
let inlineMs = 0;
let busy = false;

/** Whether the event loop has lately been busy with work other than inline cfkit calls. */
export function loopBusy(): boolean {
  const now = performance.now();
  if (now - windowStart >= WINDOW_MS) {
    const elu = performance.eventLoopUtilization(last);
    const total = elu.active + elu.idle;
    const share = total > 0 ? (elu.active - inlineMs) / total : 0;
    busy = busy ? share >= IDLE_BELOW : share > BUSY_ABOVE;
    last = performance.eventLoopUtilization();
    windowStart = now;
    inlineMs = 0;
  }
  return busy;
}

/**
 * Runs `start` and counts the time until it returns as cfkit's own: for a call allowed inline, that
 * is the native work (a call estimated over budget still goes to a worker thread; its short start is
 * then counted too).
 */
export function timedStart<T>(start: () => T): T {
  const t0 = performance.now();
  try {
    return start();
  } finally {
    inlineMs += performance.now() - t0;
  }
}
