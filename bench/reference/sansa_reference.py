"""Times the reference SANSA (the `sansa` package, glami/sansa) on a split written by bench/sansa.js.

    python3 sansa_reference.py FOLDER cholmod|icf L2 DENSITY SCANS FINETUNE METRIC[,METRIC...]

FOLDER holds train/, inputs/ and targets/, each as indptr.i32, indices.i32 and shape.json (binary
interactions). Prints one JSON line: fit seconds, peak RSS, RSS after loading the data, the model's
nonzeros, and the metrics, computed here with cfkit's definitions (recall@k: hits / min(k, |T|);
recall_bars@k: hits / |T|; ndcg@k with binary gains), input items masked. Threads follow
OPENBLAS_NUM_THREADS as set by the caller.
"""
import json
import resource
import sys
import time

import numpy as np

from csr_io import load




def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def evaluate(encoder, decoder, inputs, targets, metrics):
    ks = sorted({int(m.split("@")[1]) for m in metrics})
    kmax = ks[-1]
    sums = {m: 0.0 for m in metrics}
    users = 0
    for b in range(0, inputs.shape[0], 1000):
        x, t = inputs[b:b + 1000], targets[b:b + 1000]
        s = ((x @ encoder) @ decoder).toarray()
        s[x.nonzero()] = -np.inf
        top = np.argpartition(-s, kmax, axis=1)[:, :kmax]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(s, top, axis=1), axis=1, kind="stable"), axis=1)
        for r in range(x.shape[0]):
            truth = set(t.indices[t.indptr[r]:t.indptr[r + 1]].tolist())
            if not truth:
                continue
            users += 1
            hit = np.array([i in truth for i in top[r]], dtype=float)
            for m in metrics:
                name, k = m.split("@")
                k = int(k)
                h = hit[:k]
                if name == "recall":
                    sums[m] += h.sum() / min(k, len(truth))
                elif name == "recall_bars":
                    sums[m] += h.sum() / len(truth)
                elif name == "ndcg":
                    disc = 1 / np.log2(np.arange(2, k + 2))
                    sums[m] += (h * disc).sum() / disc[:min(k, len(truth))].sum()
                else:
                    raise ValueError(f"unknown metric {m}")
    return {m: v / users for m, v in sums.items()}


def main():
    folder, factorizer = sys.argv[1], sys.argv[2]
    l2, density, scans, finetune = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    metrics = sys.argv[7].split(",")
    # The reference package, imported before timing so that its numba compilation is not counted.
    from sansa.core import CHOLMODGramianFactorizerConfig, ICFGramianFactorizerConfig, UMRUnitLowerTriangleInverterConfig
    from sansa.model import SANSA, SANSAConfig

    train = load(f"{folder}/train")
    data_rss = rss_mib()
    factorizer_config = CHOLMODGramianFactorizerConfig() if factorizer == "cholmod" else ICFGramianFactorizerConfig()
    config = SANSAConfig(
        l2=l2,
        weight_matrix_density=density,
        gramian_factorizer_config=factorizer_config,
        lower_triangle_inverter_config=UMRUnitLowerTriangleInverterConfig(scans=scans, finetune_steps=finetune),
    )
    model = SANSA(config)
    t0 = time.perf_counter()
    model.fit(train)
    fit_seconds = time.perf_counter() - t0
    peak = rss_mib()
    encoder, decoder = model.weights
    accuracy = evaluate(encoder, decoder, load(f"{folder}/inputs"), load(f"{folder}/targets"), metrics)
    import sansa

    print(json.dumps({"package": sansa.__file__, "fitSeconds": fit_seconds, "peakRssMiB": peak, "dataRssMiB": data_rss,
                      "nnzWeights": int(encoder.nnz + decoder.nnz), "accuracy": accuracy}))


if __name__ == "__main__":
    main()
