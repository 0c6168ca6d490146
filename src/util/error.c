/*
 * Thread-local error messages: the XGBoost pattern of a status code plus a
 * last-error string, so that callers see what failed and where.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ohlcx/error.h"

static _Thread_local char last_error[1024];


const char *ohlcx_last_error(void)
{
    return last_error;
}


/* Formats into a copy first, so that an argument may be the message being
 * replaced: ohlcx_set_error(code, "context: %s", ohlcx_last_error()). */
int ohlcx_set_error(int code, const char *format, ...)
{
    char message[sizeof last_error];
    va_list args;

    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    memcpy(last_error, message, sizeof last_error);
    return code;
}


int ohlcx_exit_status(int code)
{
    switch (code) {
    case OHLCX_OK:
        return 0;
    case OHLCX_EINVAL:
    case OHLCX_EIO:
    case OHLCX_EFORMAT:
    case OHLCX_EDATA:
        return 2;
    default:
        return 1;
    }
}
