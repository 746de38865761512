"""Reference EASE in numpy/scipy, timed the way a careful Python user would write it.

Reads a CSR matrix written by bench/ease.js (indptr.i32, indices.i32, shape.json) and prints JSON
with the fit time of two variants:
  best:      scipy sparse Gram (XᵀX), then float32 Cholesky inverse (LAPACK spotrf + spotri)
  textbook:  dense float64 Gram and np.linalg.inv
Thread count follows OPENBLAS_NUM_THREADS / OMP_NUM_THREADS set by the caller.
"""
import json
import sys
import time

import numpy as np
from scipy.linalg import lapack

from csr_io import load




def ease_best(x, l2):
    g = (x.T @ x).toarray().astype(np.float32)
    g[np.diag_indices_from(g)] += l2
    c, info = lapack.spotrf(g, lower=1, overwrite_a=1, clean=0)
    assert info == 0
    p, info = lapack.spotri(c, lower=1, overwrite_c=1)
    assert info == 0
    p = np.tril(p) + np.tril(p, -1).T
    b = -p / np.diag(p)
    b[np.diag_indices_from(b)] = 0
    return b


def ease_textbook(x, l2):
    g = (x.T @ x).toarray().astype(np.float64)
    g[np.diag_indices_from(g)] += l2
    p = np.linalg.inv(g)
    b = -p / np.diag(p)
    b[np.diag_indices_from(b)] = 0
    return b


def main():
    folder, l2, reps = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 3
    x = load(folder)
    out = {}
    for name, fn in (("best", ease_best), ("textbook", ease_textbook)):
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn(x, l2)
            times.append(time.perf_counter() - t0)
        out[name] = {"seconds_median": float(np.median(times)), "seconds_min": float(min(times))}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
