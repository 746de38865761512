/* The C ABI between cfkit.node and the optional libcfkit_cuda.so. The addon dlopens the library and
 * resolves these names, so the .node itself never links against CUDA. Bump CFKIT_CUDA_ABI on any
 * change to these declarations. */
#ifndef CFKIT_CUDA_API_H
#define CFKIT_CUDA_API_H
#include <stddef.h>
#include <stdint.h>

#define CFKIT_CUDA_ABI 6

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cfkit_cuda_device {
  char name[256];
  size_t total_memory;
  int major, minor;
  int multiprocessors;
} cfkit_cuda_device;

typedef struct cfkit_cuda_probe_result {
  int device_count;      /* devices usable by the runtime; 0 when none or no driver */
  int driver_version;    /* e.g. 13000; 0 when no driver */
  int runtime_version;   /* version of the statically linked runtime */
  int error_code;        /* cudaError_t of the failing call, 0 on success */
  char error[256];       /* human-readable reason when device_count == 0 */
  cfkit_cuda_device devices[8];
} cfkit_cuda_probe_result;

typedef struct cfkit_cublas_status {
  int loaded;            /* 1 when the library and every needed symbol were found */
  int version;           /* cublasGetVersion, when a device allowed a handle; 0 otherwise */
  int self_test;         /* 1 passed, 0 not run (no device), -1 failed */
  char path[512];        /* the file that was loaded */
  char error[512];       /* why it was not loaded */
} cfkit_cublas_status;

int cfkit_cuda_abi_version(void);
int cfkit_cuda_probe(cfkit_cuda_probe_result* out);
/* Loads cuBLAS from explicit_path (a file or a directory; may be NULL), else libcublas.so.13, then
 * .so.12. Safe to call repeatedly: the first successful load is kept. */
int cfkit_cublas_load(const char* explicit_path, cfkit_cublas_status* out);

/* ∞-AE on the GPU: K = NTK(X_s X_sᵀ), (K + |λ|·tr(K)/n·I) α = X_s by a blocked Cholesky (our
 * diagonal-block kernel + cuBLAS trsm/syrk) and two triangular solves. X_s is the support matrix in
 * CSR (users x items). α is written to the caller's alpha_t, items x users row-major. */
typedef struct cfkit_cuda_infae_input {
  int64_t users, items;
  const int64_t* indptr; /* users + 1 */
  const int32_t* indices;
  const float* values;
  double lambda;
} cfkit_cuda_infae_input;

typedef struct cfkit_cuda_infae_output {
  float* alpha_t;                  /* items * users floats, allocated by the caller */
  double seconds_gram, seconds_kernel, seconds_solve;
  int64_t not_positive_definite_at; /* 1-based column of the breakdown, 0 when the solve succeeded */
} cfkit_cuda_infae_output;

/* 0: solved; 1: the regularised kernel is not positive definite (see not_positive_definite_at);
 * -1: a CUDA/cuBLAS failure or too little device memory, described in error. */
int cfkit_cuda_infae_solve(const cfkit_cuda_infae_input* in, cfkit_cuda_infae_output* out, char* error,
                           size_t error_len);

/* ∞-AE scoring on the GPU: the support rows and α are uploaded once (lambda is ignored), then each
 * call scores CSR input rows: out (rows x items, row-major) = NTK(inputs, support) · α. indptr may
 * start at any offset (a range of a larger matrix); indices and values point at the first row's
 * first entry. Calls on one scorer are serialised. 0 on success, -1 with error written otherwise. */
typedef struct cfkit_cuda_infae_scorer cfkit_cuda_infae_scorer;
int cfkit_cuda_infae_scorer_create(const cfkit_cuda_infae_input* support, const float* alpha_t,
                                   cfkit_cuda_infae_scorer** out, char* error, size_t error_len);
int cfkit_cuda_infae_score(cfkit_cuda_infae_scorer* scorer, int64_t rows, const int64_t* indptr, const int32_t* indices,
                           const float* values, float* out, char* error, size_t error_len);
void cfkit_cuda_infae_scorer_free(cfkit_cuda_infae_scorer* scorer);

/* DISTILL-CF's loss and gradient on the GPU, in float64 like the CPU path (infae/distill.cpp has the
 * adjoint equations). The real users are uploaded once; each call takes the logits (budget x items,
 * row-major) and draws the same Gumbel noise as the CPU (infae/distill_math.hpp). */
typedef struct cfkit_cuda_distill cfkit_cuda_distill;
typedef struct cfkit_cuda_distill_input {
  int64_t users, items, budget;
  const int64_t* indptr; /* users + 1: the real users in CSR */
  const int32_t* indices;
  const float* values;
} cfkit_cuda_distill_input;

typedef struct cfkit_cuda_distill_step {
  int32_t samples;        /* Gumbel-softmax samples summed per synthetic user */
  double tau, lambda, cardinality_reg;
  uint64_t noise_seed;
} cfkit_cuda_distill_step;

int cfkit_cuda_distill_create(const cfkit_cuda_distill_input* in, cfkit_cuda_distill** out, char* error, size_t error_len);
/* Loss of the logits and, when grad is not NULL, its gradient (budget x items, row-major). 0: done;
 * 1: the synthetic kernel is not positive definite (*not_positive_definite_at gets the 1-based
 * column); -1: failure, described in error. */
int cfkit_cuda_distill_loss(cfkit_cuda_distill* d, const cfkit_cuda_distill_step* step, const double* logits, double* loss,
                            double* grad, int64_t* not_positive_definite_at, char* error, size_t error_len);
/* Σ_t softmax((logits + G_t)/τ) for the step's draws, budget x items row-major, into sigma. */
int cfkit_cuda_distill_gumbel_sum(cfkit_cuda_distill* d, const cfkit_cuda_distill_step* step, const double* logits,
                                  double* sigma, char* error, size_t error_len);
void cfkit_cuda_distill_free(cfkit_cuda_distill* d);

/* Matrix factorization by batch-Hogwild SGD on the GPU (cuMF_SGD's layout: one warp per update, 128
 * consecutive ratings from a random start per batch), with fp32, fp16 or MASCOT storage. */
typedef struct cfkit_cuda_rating {
  int32_t u, i;
  float r;
} cfkit_cuda_rating;

typedef struct cfkit_cuda_mf_problem {
  int64_t users, items, nnz;
  const cfkit_cuda_rating* ratings; /* in training order (shuffled by the caller) */
  const int32_t* user_group; /* MASCOT: group of every user / item (ignored otherwise) */
  const int32_t* item_group;
  int32_t user_groups, item_groups;
  int32_t k;  /* a multiple of 32, at most 256 */
  float* p;   /* users x k row-major: initial factors in, trained factors out */
  float* q;   /* items x k */
  /* Pruning (params.pruned): active factors per user / item; entries past a row's length are zero.
   * The host may rewrite p, q and these between epochs (see CFKIT_CUDA_MF_UPLOAD). */
  uint16_t* user_len;
  uint16_t* item_len;
} cfkit_cuda_mf_problem;

typedef struct cfkit_cuda_mf_params {
  int32_t epochs;
  double lr_alpha, lr_beta; /* η_t = α / (1 + β·t^1.5) */
  double l2_user, l2_item;
  int32_t precision;        /* 0 fp32, 1 fp16 storage, 2 MASCOT */
  int32_t mascot_interval;
  double mascot_sample_ratio, mascot_threshold;
  uint64_t seed;
  int32_t copy_each_epoch;  /* 1: p and q hold the current factors whenever the callback runs */
  int32_t pruned;           /* 1: fp16 storage, dot products on tensor cores over the active lengths */
} cfkit_cuda_mf_params;

typedef struct cfkit_cuda_mf_epoch {
  int32_t epoch; /* 1-based */
  double train_rmse, seconds, lr;
  int32_t groups_switched;
} cfkit_cuda_mf_epoch;

/* Called after every epoch. Returns CFKIT_CUDA_MF_CONTINUE, CFKIT_CUDA_MF_UPLOAD (the host changed
 * p, q and the lengths, which need copy_each_epoch: upload them, then continue) or anything else to
 * stop training. */
#define CFKIT_CUDA_MF_CONTINUE 0
#define CFKIT_CUDA_MF_UPLOAD 3
typedef int (*cfkit_cuda_mf_epoch_fn)(const cfkit_cuda_mf_epoch* epoch, void* user);

/* 0: trained; 2: stopped by the callback; -1: failure, described in error. */
int cfkit_cuda_mf_train(const cfkit_cuda_mf_problem* problem, const cfkit_cuda_mf_params* params,
                        cfkit_cuda_mf_epoch_fn on_epoch, void* user, char* error, size_t error_len);

#ifdef __cplusplus
}
#endif
#endif
