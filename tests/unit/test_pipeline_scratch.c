/*
 * The scratch file of the pipeline (pipeline_scratch in
 * src/pipeline/internal.h), where `ohlcx run` keeps the CNN outputs. Rows
 * written at offsets come back as written, and the file has no name in its
 * folder. A failed create, reserve, write or read returns OHLCX_EIO with
 * one line that names the folder and the bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ohlcx/error.h"
#include "pipeline/internal.h"


/* Creates an empty folder under TMPDIR (or /tmp) into folder. */
static void make_folder(char *folder, size_t size)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(folder, size, "%s/ohlcx-scratch-test.XXXXXX", tmp != NULL ? tmp : "/tmp");
    assert_non_null(mkdtemp(folder));
}


/* Returns the entries of a folder other than . and .. */
static int count_entries(const char *folder)
{
    DIR *dir = opendir(folder);
    struct dirent *entry;
    int count = 0;

    assert_non_null(dir);
    while ((entry = readdir(dir)) != NULL)
        count += strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0;
    closedir(dir);
    return count;
}


/* Two rows of 3 floats written in reverse order come back in place, and
 * the folder lists no file while the scratch file is open. */
static void scratch_round_trip(void **unused)
{
    const float first[3] = {1.5f, -2.25f, 3.0f}, second[3] = {4.0f, 5.5f, -6.75f};
    float back[6];
    char folder[256];
    pipeline_scratch scratch;

    make_folder(folder, sizeof folder);
    assert_int_equal(pipeline_scratch_open(folder, sizeof back, &scratch), 0);
    assert_true(scratch.fd >= 0);
    assert_int_equal(count_entries(folder), 0);

    assert_int_equal(pipeline_scratch_write(&scratch, second, sizeof second, sizeof first), 0);
    assert_int_equal(pipeline_scratch_write(&scratch, first, sizeof first, 0), 0);
    assert_int_equal(pipeline_scratch_read(&scratch, back, sizeof back, 0), 0);
    assert_memory_equal(back, first, sizeof first);
    assert_memory_equal(back + 3, second, sizeof second);

    pipeline_scratch_close(&scratch);
    assert_int_equal(scratch.fd, -1);
    assert_int_equal(count_entries(folder), 0);
    assert_int_equal(rmdir(folder), 0);
}


/* A write that the descriptor rejects (opened read-only, EBADF) fails
 * with OHLCX_EIO, exit status 2, and one line naming the folder and the
 * file's size in bytes. */
static void scratch_write_read_only(void **unused)
{
    const float row[2] = {1, 2};
    char folder[256], path[300];
    pipeline_scratch scratch;
    int status;

    make_folder(folder, sizeof folder);
    snprintf(path, sizeof path, "%s/read-only", folder);
    fclose(fopen(path, "w"));
    scratch.fd = open(path, O_RDONLY);
    assert_true(scratch.fd >= 0);
    snprintf(scratch.folder, sizeof scratch.folder, "%s", folder);
    scratch.size = 123288;

    status = pipeline_scratch_write(&scratch, row, sizeof row, 0);
    assert_int_equal(status, OHLCX_EIO);
    assert_int_equal(ohlcx_exit_status(status), 2);
    assert_non_null(strstr(ohlcx_last_error(), "cannot write 123288 bytes (0.1 MiB) to a "
                                               "scratch file in "));
    assert_non_null(strstr(ohlcx_last_error(), folder));
    assert_null(strchr(ohlcx_last_error(), '\n'));

    pipeline_scratch_close(&scratch);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(folder), 0);
}


/* A read past the end of the file fails and names the offset. */
static void scratch_read_past_end(void **unused)
{
    const float row[2] = {1, 2};
    float back[4];
    char folder[256];
    pipeline_scratch scratch;

    make_folder(folder, sizeof folder);
    assert_int_equal(pipeline_scratch_open(folder, sizeof row, &scratch), 0);
    assert_int_equal(pipeline_scratch_write(&scratch, row, sizeof row, 0), 0);
    assert_int_equal(pipeline_scratch_read(&scratch, back, sizeof back, 0), OHLCX_EIO);
    /* The 8 bytes of the file read, then the read at byte 8 found its end. */
    assert_non_null(strstr(ohlcx_last_error(), "cannot read byte 8 of the scratch file in "));
    assert_non_null(strstr(ohlcx_last_error(), "the file ends there"));
    pipeline_scratch_close(&scratch);
    assert_int_equal(rmdir(folder), 0);
}


/* A folder that does not exist fails before any write, naming it. */
static void scratch_open_missing_folder(void **unused)
{
    char folder[256], missing[300];
    pipeline_scratch scratch;

    make_folder(folder, sizeof folder);
    snprintf(missing, sizeof missing, "%s/missing", folder);
    assert_int_equal(pipeline_scratch_open(missing, 16, &scratch), OHLCX_EIO);
    assert_int_equal(scratch.fd, -1);
    assert_non_null(strstr(ohlcx_last_error(), "cannot create a scratch file in "));
    assert_non_null(strstr(ohlcx_last_error(), missing));
    assert_int_equal(rmdir(folder), 0);
}


/* A size that no disk of the tests holds, 2^62 bytes, fails when it is
 * reserved: ext4 rejects a file above 16 TiB (EFBIG) and tmpfs a size
 * above its own (ENOSPC). The message names the bytes, and no file stays. */
static void scratch_open_too_large(void **unused)
{
    char folder[256];
    pipeline_scratch scratch;

    make_folder(folder, sizeof folder);
    assert_int_equal(pipeline_scratch_open(folder, UINT64_C(1) << 62, &scratch), OHLCX_EIO);
    assert_int_equal(scratch.fd, -1);
    assert_non_null(strstr(ohlcx_last_error(), "cannot write 4611686018427387904 bytes"));
    assert_non_null(strstr(ohlcx_last_error(), folder));
    assert_int_equal(count_entries(folder), 0);
    assert_int_equal(rmdir(folder), 0);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scratch_round_trip),
        cmocka_unit_test(scratch_write_read_only),
        cmocka_unit_test(scratch_read_past_end),
        cmocka_unit_test(scratch_open_missing_folder),
        cmocka_unit_test(scratch_open_too_large),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
