/*
 * libohlcx_env: sets OPENBLAS_NUM_THREADS=1 for the commands that do no
 * matrix work, before OpenBLAS starts its threads.
 *
 * OpenBLAS reads the variable once, in the constructor that starts its
 * worker threads, and those threads then spin for about 0.1 s of CPU time
 * (docs/benchmarks.md). The dynamic loader runs the constructors of shared
 * libraries before main(), so a variable set in main() comes too late.
 * This library is linked after every other one (CMakeLists.txt), which makes
 * the loader run its constructor before OpenBLAS's. main.c checks that it
 * did (openblas_get_num_threads()) and otherwise starts the command again
 * with the variable set, as it does for OMP_WAIT_POLICY.
 */
#include <stdlib.h>
#include <string.h>

#include "ohlcx_env.h"

static int openblas_threads_set;


int ohlcx_env_light_command(const char *command)
{
    static const char *const commands[] = {"ingest", "check", "ls", "export", "resample",
                                           "synth"};

    for (size_t i = 0; command != NULL && i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(command, commands[i]) == 0)
            return 1;
    return 0;
}


int ohlcx_env_openblas_threads_set(void)
{
    return openblas_threads_set;
}


/* glibc passes the program's arguments to the constructors of shared
 * libraries too. */
__attribute__((constructor)) static void set_openblas_threads(int argc, char **argv,
                                                              char **envp)
{
    (void)envp;
    if (argc < 2 || !ohlcx_env_light_command(argv[1]) || getenv("OPENBLAS_NUM_THREADS") != NULL)
        return;
    openblas_threads_set = setenv("OPENBLAS_NUM_THREADS", "1", 1) == 0;
}
