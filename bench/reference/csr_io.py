"""Reads the binary interaction matrices the bench scripts write: indptr.i32, indices.i32, shape.json."""
import json

import numpy as np
import scipy.sparse as sp


def load(folder):
    shape = json.load(open(f"{folder}/shape.json"))
    indptr = np.fromfile(f"{folder}/indptr.i32", dtype=np.int32)
    indices = np.fromfile(f"{folder}/indices.i32", dtype=np.int32)
    data = np.ones(len(indices), dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(shape["rows"], shape["cols"]))
