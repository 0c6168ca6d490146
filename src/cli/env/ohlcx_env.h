/*
 * libohlcx_env (thread_env.c): thread settings made before the libraries
 * that read them at load time start.
 */
#ifndef OHLCX_ENV_H
#define OHLCX_ENV_H

/* Returns 1 for a command that does no matrix work and no OpenMP work
 * (ingest, check, ls, export, resample, synth). */
int ohlcx_env_light_command(const char *command);

/* Returns 1 when the library's constructor set OPENBLAS_NUM_THREADS=1. */
int ohlcx_env_openblas_threads_set(void);

#endif
