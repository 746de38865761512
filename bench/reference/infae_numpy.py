"""A faithful numpy/scipy port of the ∞-AE closed form (ALGORITHMS.md §3.1-3.2), for timing.

Reads the CSR written by bench/infae.js (indptr.i32, indices.i32, shape.json) and prints JSON with
the seconds of each step: the dense XXᵀ GEMM, the elementwise NTK (arccos), and the Cholesky solve
of (K + λ·tr(K)/n·I)α = X, in float32 as the reference code's default.
"""
import json
import sys
import time

import numpy as np
import scipy.linalg as sla


def main():
    folder, lam = sys.argv[1], float(sys.argv[2])
    shape = json.load(open(f"{folder}/shape.json"))
    indptr = np.fromfile(f"{folder}/indptr.i32", dtype=np.int32)
    indices = np.fromfile(f"{folder}/indices.i32", dtype=np.int32)
    n, items = shape["rows"], shape["cols"]
    x = np.zeros((n, items), dtype=np.float32)
    for u in range(n):
        x[u, indices[indptr[u]:indptr[u + 1]]] = 1.0
    t = {}
    t0 = time.perf_counter()
    s0 = (x @ x.T) / items
    t["gram"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    s1 = 2.0 * s0 + 0.01
    c = np.diag(s1)
    cc = np.outer(c, c)
    root = np.sqrt(cc)
    theta = np.arccos(np.clip(s1 / root, -1.0, 1.0))
    k = (np.sqrt(np.maximum(cc - s1 * s1, 0.0)) + 2.0 * (np.pi - theta) * s1) / np.pi + 0.01
    k = k.astype(np.float32)
    t["kernel"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    reg = k + abs(lam) * np.trace(k) / n * np.eye(n, dtype=np.float32)
    alpha = sla.solve(reg, x, assume_a="pos")
    t["solve"] = time.perf_counter() - t0
    t["total"] = t["gram"] + t["kernel"] + t["solve"]
    assert np.isfinite(alpha).all()
    print(json.dumps(t))


if __name__ == "__main__":
    main()
