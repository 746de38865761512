"""A faithful numpy/scipy implementation of iALS as cfkit runs it, for timing and accuracy side by side.

Rendle et al. (2021)'s loss, each epoch a sweep over users then items: the fixed side's Gramian
G = FᵀF once per sweep, then every row solved by conjugate gradient warm-started from its previous
factors, A = Σ_{j∈row} f_j f_jᵀ + α₀ G + λ(|row| + α₀·n_fixed)^ν I, b = Σ_{j∈row} f_j. Vectorised
within a row (as the `implicit` package's pure-numpy reference does), float64 sums, float32 factors.

  python3 ials_numpy.py FOLDER FACTORS L2 ALPHA0 NU EPOCHS CG_STEPS [OUT_FACTORS_FOLDER]

Reads the CSR bench/ials.js writes (csr_io.py), prints JSON with the seconds of each epoch; with an
output folder, writes W.f32 and H.f32 there so the caller can evaluate the factors itself.
"""
import json
import sys
import time

import numpy as np

from csr_io import load


def sweep(x, fixed, solved, alpha0, l2, nu, steps):
    gram = fixed.astype(np.float64).T @ fixed.astype(np.float64)
    n_fixed = fixed.shape[0]
    indptr, indices = x.indptr, x.indices
    for r in range(x.shape[0]):
        idx = indices[indptr[r]:indptr[r + 1]]
        f = fixed[idx].astype(np.float64)
        reg = l2 * (len(idx) + alpha0 * n_fixed) ** nu
        b = f.sum(axis=0)
        xr = solved[r].astype(np.float64)

        def apply(v):
            return alpha0 * (gram @ v) + reg * v + f.T @ (f @ v)

        res = b - apply(xr)
        p = res.copy()
        rr = res @ res
        stop = 1e-20 * max(1.0, b @ b)
        for _ in range(steps):
            if rr <= stop:
                break
            ap = apply(p)
            pap = p @ ap
            if pap <= 0:
                break
            a = rr / pap
            xr += a * p
            res -= a * ap
            nxt = res @ res
            p = res + (nxt / rr) * p
            rr = nxt
        solved[r] = xr.astype(np.float32)


def main():
    folder = sys.argv[1]
    k, l2, alpha0, nu, epochs, steps = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
    out = sys.argv[8] if len(sys.argv) > 8 else None
    x = load(folder).tocsr()
    xt = x.T.tocsr()
    rng = np.random.default_rng(42)
    w = (rng.standard_normal((x.shape[0], k)) * 0.1 / np.sqrt(k)).astype(np.float32)
    h = (rng.standard_normal((x.shape[1], k)) * 0.1 / np.sqrt(k)).astype(np.float32)
    seconds = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        sweep(x, h, w, alpha0, l2, nu, steps)
        sweep(xt, w, h, alpha0, l2, nu, steps)
        seconds.append(time.perf_counter() - t0)
    if out:
        w.tofile(f"{out}/W.f32")
        h.tofile(f"{out}/H.f32")
    print(json.dumps({"epochSeconds": seconds}))


if __name__ == "__main__":
    main()
