import * as cliProgress from 'cli-progress';
import type { ProgressEvent } from '../job';

/** A progress reporter: a bar per stage on a TTY, nothing otherwise (so piped output stays clean). */
export function progressReporter(enabled = process.stderr.isTTY === true): { onProgress?: (e: ProgressEvent) => void; stop(): void } {
  if (!enabled) return { stop() {} };
  let bar: cliProgress.SingleBar | undefined;
  let stage = '';
  const stop = () => {
    bar?.update(100);
    bar?.stop();
    bar = undefined;
  };
  return {
    onProgress(e: ProgressEvent) {
      if (e.stage !== stage) {
        stop();
        stage = e.stage;
        bar = new cliProgress.SingleBar(
          { format: ` {stage} [{bar}] {percentage}%{loss}`, stream: process.stderr, hideCursor: true, clearOnComplete: false },
          cliProgress.Presets.shades_classic,
        );
        bar.start(100, 0, { stage: stage.padEnd(10), loss: '' });
      }
      bar?.update(Math.round(e.fraction * 100), { stage: stage.padEnd(10), loss: e.loss === undefined ? '' : `  loss ${e.loss.toPrecision(4)}` });
    },
    stop,
  };
}
