// Keep the CUDA probe quiet and deterministic on machines without a GPU unless a test opts in.
process.env.CFKIT_TEST = '1';
