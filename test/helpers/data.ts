import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Interactions } from '../../lib';

/** ../shared/data when present (real datasets are never committed); tests using it skip otherwise. */
export const sharedData = path.resolve(__dirname, '..', '..', '..', 'shared', 'data');
export const hasSharedData = (rel: string) => fs.existsSync(path.join(sharedData, rel));
export const describeIfData = (rel: string) => (hasSharedData(rel) ? describe : describe.skip);

export function tmpDir(prefix = 'cfkit-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeTmp(name: string, content: string): string {
  const dir = tmpDir();
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

/** Dense double EASE by Gauss-Jordan: the independent reference the native fit is checked against. */
export function naiveEase(x: Interactions, l2: number): Float64Array {
  const n = x.numItems;
  const a = new Float64Array(n * n);
  const inv = new Float64Array(n * n);
  for (let u = 0; u < x.numUsers; u++) {
    const { items, values } = x.row(u);
    for (let p = 0; p < items.length; p++) for (let q = 0; q < items.length; q++) a[items[p] * n + items[q]] += values[p] * values[q];
  }
  for (let i = 0; i < n; i++) {
    a[i * n + i] += l2;
    inv[i * n + i] = 1;
  }
  for (let c = 0; c < n; c++) {
    const piv = a[c * n + c];
    for (let j = 0; j < n; j++) {
      a[c * n + j] /= piv;
      inv[c * n + j] /= piv;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r * n + c];
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        a[r * n + j] -= f * a[c * n + j];
        inv[r * n + j] -= f * inv[c * n + j];
      }
    }
  }
  const b = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) b[i * n + j] = i === j ? 0 : -inv[i * n + j] / inv[j * n + j];
  return b;
}
