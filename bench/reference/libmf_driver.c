/* Times LIBMF (https://www.csie.ntu.edu.tw/~cjlin/libmf/, a shared library the user supplies) on a
 * split written by bench/mf.js, for the side-by-side in bench/results/mf.json. The structs below
 * restate LIBMF's public C interface (mf.h) in its two layouts: 2.x (which exports
 * mf_train_on_disk) and the earlier 1.x; LIBMF itself is loaded with dlopen and never linked or
 * redistributed. Test RMSE is computed here through mf_predict, which both layouts export.
 *
 *   libmf_driver LIBMF_SO SPLIT_FILE OUT_JSON k threads iters lambda eta bins
 *
 * SPLIT_FILE: int32 [users, items, nTrain, nTest], then the train users, items (int32) and values
 * (float32), then the same for test. Writes one JSON object to OUT_JSON (LIBMF prints to stdout).
 * Each figure is taken twice, with 1 iteration and with iters (>= 2), so setup (scaling, shuffling,
 * the block grid, initialisation) cancels out of the per-iteration time. */
#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

typedef struct { int u, v; float r; } lm_node;
typedef struct { int m, n; long long nnz; lm_node* R; } lm_problem;
typedef struct {
  int fun, k, nr_threads, nr_bins, nr_iters;
  float lambda_p1, lambda_p2, lambda_q1, lambda_q2, eta, alpha, c;
  bool do_nmf, quiet, copy_data;
} lm_parameter;
typedef struct {
  int k, nr_threads, nr_bins, nr_iters;
  float lambda, eta;
  int do_nmf, quiet, copy_data;
} lm1_parameter;

/* Models stay opaque (void*): only mf_predict and mf_destroy_model read them. */
typedef lm_parameter (*default_param_fn)(void);
typedef void* (*train_fn)(const lm_problem*, lm_parameter);
typedef void* (*train_valid_fn)(const lm_problem*, const lm_problem*, lm_parameter);
typedef lm1_parameter (*default_param1_fn)(void);
typedef void* (*train1_fn)(const lm_problem*, lm1_parameter);
typedef void* (*train_valid1_fn)(const lm_problem*, const lm_problem*, lm1_parameter);
typedef float (*predict_fn)(const void*, int, int);
typedef void (*destroy_fn)(void**);

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void* must(void* p, const char* what) {
  if (!p) {
    fprintf(stderr, "libmf_driver: %s\n", what);
    exit(2);
  }
  return p;
}

static lm_problem read_part(FILE* f, int users, int items, int n) {
  lm_problem p = {users, items, n, must(malloc(sizeof(lm_node) * (size_t)(n ? n : 1)), "out of memory")};
  int32_t* u = must(malloc(4 * (size_t)n + 4), "out of memory");
  int32_t* i = must(malloc(4 * (size_t)n + 4), "out of memory");
  float* r = must(malloc(4 * (size_t)n + 4), "out of memory");
  if (fread(u, 4, n, f) != (size_t)n || fread(i, 4, n, f) != (size_t)n || fread(r, 4, n, f) != (size_t)n) must(NULL, "short split file");
  for (int t = 0; t < n; ++t) p.R[t] = (lm_node){u[t], i[t], r[t]};
  free(u);
  free(i);
  free(r);
  return p;
}

int main(int argc, char** argv) {
  if (argc != 10) {
    fprintf(stderr, "usage: libmf_driver LIBMF_SO SPLIT_FILE OUT_JSON k threads iters lambda eta bins\n");
    return 2;
  }
  void* lib = must(dlopen(argv[1], RTLD_NOW), dlerror());
  const int v2 = dlsym(lib, "mf_train_on_disk") != NULL;
  void* default_param = must(dlsym(lib, "mf_get_default_param"), "no mf_get_default_param");
  void* train = must(dlsym(lib, "mf_train"), "no mf_train");
  void* train_valid = must(dlsym(lib, "mf_train_with_validation"), "no mf_train_with_validation");
  predict_fn predict = must(dlsym(lib, "mf_predict"), "no mf_predict");
  destroy_fn destroy = must(dlsym(lib, "mf_destroy_model"), "no mf_destroy_model");

  FILE* f = must(fopen(argv[2], "rb"), "cannot open the split file");
  int32_t head[4];
  if (fread(head, 4, 4, f) != 4) must(NULL, "short split file");
  lm_problem tr = read_part(f, head[0], head[1], head[2]);
  lm_problem te = read_part(f, head[0], head[1], head[3]);
  fclose(f);

  const int iters = atoi(argv[6]);
  if (iters < 2) must(NULL, "iters must be at least 2");
  const int k = atoi(argv[4]), threads = atoi(argv[5]), bins = atoi(argv[9]);
  const float lambda = (float)atof(argv[7]), eta = (float)atof(argv[8]);
  lm_parameter p2;
  lm1_parameter p1;
  if (v2) {
    p2 = ((default_param_fn)default_param)();
    p2.k = k;
    p2.nr_threads = threads;
    p2.lambda_p2 = p2.lambda_q2 = lambda;
    p2.eta = eta;
    p2.nr_bins = bins;
    p2.copy_data = true;
  } else {
    p1 = ((default_param1_fn)default_param)();
    p1.k = k;
    p1.nr_threads = threads;
    p1.lambda = lambda;
    p1.eta = eta;
    p1.nr_bins = bins;
    p1.copy_data = 1;
  }

  // [quiet][iterations]: seconds of mf_train (quiet) and mf_train_with_validation (tr/va RMSE printed each iteration).
  double seconds[2][2];
  double test_rmse = 0;
  for (int valid = 0; valid < 2; ++valid)
    for (int long_run = 0; long_run < 2; ++long_run) {
      const int n_iters = long_run ? iters : 1;
      const double t0 = now();
      void* m;
      if (v2) {
        p2.nr_iters = n_iters;
        p2.quiet = !valid;
        m = valid ? ((train_valid_fn)train_valid)(&tr, &te, p2) : ((train_fn)train)(&tr, p2);
      } else {
        p1.nr_iters = n_iters;
        p1.quiet = !valid;
        m = valid ? ((train_valid1_fn)train_valid)(&tr, &te, p1) : ((train1_fn)train)(&tr, p1);
      }
      seconds[valid][long_run] = now() - t0;
      must(m, "LIBMF returned no model");
      if (long_run && !valid) {
        double sse = 0;
        for (long long t = 0; t < te.nnz; ++t) {
          const double e = te.R[t].r - predict(m, te.R[t].u, te.R[t].v);
          sse += e * e;
        }
        test_rmse = te.nnz ? sqrt(sse / (double)te.nnz) : 0;
      }
      destroy(&m);
    }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  FILE* out = must(fopen(argv[3], "w"), "cannot write the result");
  fprintf(out,
          "{\"secondsPerIteration\": %.6f, \"secondsPerIterationWithValidation\": %.6f, \"fitSeconds\": %.6f, "
          "\"testRmse\": %.6f, \"trainRatings\": %lld, \"peakRssMiB\": %.1f, \"iterations\": %d, \"k\": %d, \"threads\": %d, "
          "\"lambda\": %g, \"eta\": %g, \"bins\": %d, \"interface\": \"%s\"}\n",
          (seconds[0][1] - seconds[0][0]) / (iters - 1), (seconds[1][1] - seconds[1][0]) / (iters - 1), seconds[0][1], test_rmse, tr.nnz,
          ru.ru_maxrss / 1024.0, iters, k, threads, (double)lambda, (double)eta, bins, v2 ? "2.x" : "1.x");
  fclose(out);
  return 0;
}
