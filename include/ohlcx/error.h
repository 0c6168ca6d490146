/*
 * Error reporting shared by every ohlcx module.
 *
 * Library functions return 0 on success or one of the negative codes below.
 * On failure they also set a thread-local message that names the value, the
 * place (file, line, column) and what to do. The message stays until the next
 * failure on the same thread. Nothing in the library calls exit().
 */
#ifndef OHLCX_ERROR_H
#define OHLCX_ERROR_H

enum ohlcx_status {
    OHLCX_OK = 0,
    OHLCX_EINVAL = -1,  /* invalid argument or option value */
    OHLCX_EIO = -2,     /* a file could not be opened, read or written */
    OHLCX_ENOMEM = -3,  /* an allocation failed */
    OHLCX_EFORMAT = -4, /* input data is malformed or of an unknown layout */
    OHLCX_ELIB = -5,    /* a library (XGBoost, OpenBLAS) reported an error */
    OHLCX_EDATA = -6,   /* input is well formed but unusable (too few bars) */
};

/* Returned (positive, no error message) by the streaming parts of ingest
 * when the input needs the whole-series path instead: the caller discards
 * what the stream produced and runs that path. */
#define OHLCX_WHOLE_SERIES 1

/* Returns the message of the last failure on this thread, or "" if none. */
const char *ohlcx_last_error(void);

/* Sets the thread-local message from a printf format and returns code. */
int ohlcx_set_error(int code, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Returns the exit status the command uses for code: 0 for OHLCX_OK, 2 for
 * bad input or usage (EINVAL, EIO, EFORMAT, EDATA) and 1 for the rest. */
int ohlcx_exit_status(int code);

#endif
