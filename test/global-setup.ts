// Jest hands every test file a copy of process.env, so the OpenBLAS core that lib/native.ts picks
// there never reaches the real environment, and OpenBLAS, loaded with the addon, would fall back to
// its own detection (Prescott kernels on Sapphire Rapids: ∞-AE and DISTILL-CF tests 5x slower).
// The same holds for OpenBLAS's thread timeout. Global setup runs in Jest's own process before any
// test loads the addon.
import { prepareOpenBlas } from '../lib/native';

export default function globalSetup(): void {
  prepareOpenBlas();
}
