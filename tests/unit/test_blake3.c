/*
 * Unit tests for BLAKE3: digests of the specification's test input (byte i
 * is i mod 251) at lengths around the chunk, subtree and file-read sizes,
 * files against buffers, and streaming in odd pieces.
 *
 * The digests of the known table came from Debian's b3sum 1.2.0
 * (`b3sum --no-names` on files of the test input). The comment above the
 * boundary table gives the source of its digests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ohlcx/error.h"
#include "util/util.h"

typedef struct known_digest {
    size_t length;
    const char *hex;
} known_digest;

/* From b3sum 1.2.0. Lengths: empty, one byte, around one chunk (1024
 * bytes), two and three chunks, 31 chunks, 100 chunks, one byte past a
 * 256-chunk subtree, and one byte past 1 MiB. */
static const known_digest known[] = {
    {0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
    {1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"},
    {1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"},
    {1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"},
    {1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"},
    {2048, "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a"},
    {2049, "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030"},
    {3072, "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2"},
    {3073, "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3"},
    {16384, "f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4"},
    {31744, "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47"},
    {102400, "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"},
    {262145, "531c319935cf78f34869faebd865e5748266b1799039103bfb851a680d9ed30c"},
    {1048577, "2f053cd7472cf0cd2f9adaf45c1180255b91b9a865404a63671a0ee5f792ed33"},
};

#define KNOWN_MAX_LENGTH 1048577

/* Lengths on both sides of the AVX-512 path's boundaries. They are runs of 8
 * and 15 chunks hashed side by side, 16 and 17 chunks (one full group of 16
 * lanes, and one more), and 32 chunks. Then a 256-chunk subtree with and
 * without one more chunk, 1 MiB - 1 and 1 MiB, and 4 MiB + 3 chunks + 5
 * bytes, which goes through subtrees of all sizes.
 * b3sum was not installed where these were made, so the digests come from
 * the plain C lane loops of blake3.c as they were before the AVX-512 path.
 * That code matches b3sum on every length of the table above. It was built
 * with GCC 12 twice, at -O2 without -march and at -O0 with
 * OHLCX_BLAKE3_PLAIN_TRANSPOSE, and both builds gave these digests. */
static const known_digest boundary[] = {
    {8193, "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b"},
    {15361, "0d1ebcb99b783dfd4bd6f1864b71b465d35105bf8d6af2ef275d4a4850d84049"},
    {16385, "1dabe216be2578830263b049de1639f39f05a4da616b9b78c7a5e4e41662fd1f"},
    {17408, "993924ff3dcbd868be9cf3fed98d4538fe579ffccf390a5aa1ddba0f6a20bfed"},
    {17409, "50bc54238ac9271c9f3471f5206a04eb25d2e26b3214ed971cc55230b0d22864"},
    {32769, "da589428d9b32c97658a04a21c0c8a38aad2ac402120819d956fd6d62bbfa36e"},
    {262144, "d57dc906e20d3fd326ffaa85535500486f46a0979f5a323f028dcabfd381fd4a"},
    {263168, "016a8ebdc93c38f6e5afbfb937fdc9130808969f33fc82a10a36c92acd21eed7"},
    {263169, "5f939be9e0ff14200d35a1f37ac138d517c81ce2ddfd3b8b7a42c90be46e0105"},
    {1048575, "f32b849d19684c18c138cf13e29dbadc776f4bc2a56b477680ef546b39ac3f71"},
    {1048576, "74cb441fd087764ca9c3694da742ebe30cbeb3060a17009ca81825c7a8d10343"},
    {4197381, "c5b655c2e63c8f7977f41ebb6e4fb461110b2fb9a0217cbfd91410f7ac40e1a3"},
};

#define BOUNDARY_MAX_LENGTH 4197381


/* Returns length bytes of the test input; the caller frees it. */
static uint8_t *test_input(size_t length)
{
    uint8_t *bytes = malloc(length + 1);

    assert_non_null(bytes);
    for (size_t i = 0; i < length; i++)
        bytes[i] = (uint8_t)(i % 251);
    return bytes;
}


static void write_file(const char *path, const uint8_t *bytes, size_t length)
{
    FILE *file = fopen(path, "wb");

    assert_non_null(file);
    assert_int_equal(fwrite(bytes, 1, length, file), length);
    assert_int_equal(fclose(file), 0);
}


static void blake3_known_digests(void **state)
{
    uint8_t *input = test_input(KNOWN_MAX_LENGTH);
    char hex[65];

    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        ohlcx_blake3_hex(input, known[i].length, hex);
        if (strcmp(hex, known[i].hex) != 0)
            fail_msg("BLAKE3 of %zu bytes: got %s, expected %s", known[i].length, hex,
                     known[i].hex);
    }
    free(input);
}


static void blake3_boundary_digests(void **state)
{
    uint8_t *input = test_input(BOUNDARY_MAX_LENGTH);
    char hex[65];

    for (size_t i = 0; i < sizeof boundary / sizeof boundary[0]; i++) {
        ohlcx_blake3_hex(input, boundary[i].length, hex);
        if (strcmp(hex, boundary[i].hex) != 0)
            fail_msg("BLAKE3 of %zu bytes: got %s, expected %s", boundary[i].length, hex,
                     boundary[i].hex);
    }
    free(input);
}


/* Files of known lengths, and lengths around the 1 MiB reads of
 * ohlcx_blake3_file (one chunk is held back from each read), must hash like
 * the same bytes in memory. */
static void blake3_file_matches_memory(void **state)
{
    static const size_t lengths[] = {0,       1,           1025,        1048576,
                                     1048577, 1049600,     1049601,     2 * 1048576 + 1024,
                                     3 * 1048576 + 5};
    size_t max_length = 3 * 1048576 + 5;
    uint8_t *input = test_input(max_length);
    char path[] = "/tmp/ohlcx-blake3-XXXXXX";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        char from_file[65], from_memory[65];

        write_file(path, input, lengths[i]);
        assert_int_equal(ohlcx_blake3_file(path, from_file), 0);
        ohlcx_blake3_hex(input, lengths[i], from_memory);
        if (strcmp(from_file, from_memory) != 0)
            fail_msg("BLAKE3 of a %zu-byte file: got %s, in memory %s", lengths[i], from_file,
                     from_memory);
    }

    /* One file checked against b3sum, not only against the buffer. */
    {
        char hex[65];

        write_file(path, input, KNOWN_MAX_LENGTH);
        assert_int_equal(ohlcx_blake3_file(path, hex), 0);
        assert_string_equal(hex, known[sizeof known / sizeof known[0] - 1].hex);
    }
    unlink(path);
    free(input);
}


/* Adds the test input in pieces whose sizes cycle through values on both
 * sides of block, chunk and subtree boundaries. */
static void blake3_streaming_odd_pieces(void **state)
{
    static const size_t pieces[] = {1, 63, 64, 65, 1023, 1024, 1025, 4097, 262144, 7, 300000};
    uint8_t *input = test_input(KNOWN_MAX_LENGTH);
    ohlcx_blake3 hasher;
    size_t done = 0;
    char hex[65];

    ohlcx_blake3_init(&hasher);
    for (size_t i = 0; done < KNOWN_MAX_LENGTH; i++) {
        size_t take = pieces[i % (sizeof pieces / sizeof pieces[0])];

        if (take > KNOWN_MAX_LENGTH - done)
            take = KNOWN_MAX_LENGTH - done;
        ohlcx_blake3_update(&hasher, input + done, take);
        done += take;
    }
    ohlcx_blake3_final_hex(&hasher, hex);
    assert_string_equal(hex, known[sizeof known / sizeof known[0] - 1].hex);
    free(input);
}


/* Adds the test input in whole-chunk pieces of 1 to 33 chunks. Each piece
 * ends on a chunk boundary, so its last chunk waits in the partial chunk.
 * The next piece then starts at a chunk counter with another remainder mod
 * 16, so runs of fewer than 16 chunks, hashed side by side and pushed one
 * at a time, start at many offsets. */
static void blake3_streaming_whole_chunks(void **state)
{
    static const size_t pieces[] = {1, 2, 3, 5, 7, 11, 13, 15, 16, 17, 31, 33};
    uint8_t *input = test_input(BOUNDARY_MAX_LENGTH);
    ohlcx_blake3 hasher;
    size_t done = 0;
    char hex[65];

    ohlcx_blake3_init(&hasher);
    for (size_t i = 0; done < BOUNDARY_MAX_LENGTH; i++) {
        size_t take = 1024 * pieces[i % (sizeof pieces / sizeof pieces[0])];

        if (take > BOUNDARY_MAX_LENGTH - done)
            take = BOUNDARY_MAX_LENGTH - done;
        ohlcx_blake3_update(&hasher, input + done, take);
        done += take;
    }
    ohlcx_blake3_final_hex(&hasher, hex);
    assert_string_equal(hex, boundary[sizeof boundary / sizeof boundary[0] - 1].hex);
    free(input);
}


/* Finishing leaves the hasher as it was: a digest of the first 1025 bytes,
 * then more bytes, then the digest of all 3073. */
static void blake3_final_keeps_state(void **state)
{
    uint8_t *input = test_input(3073);
    ohlcx_blake3 hasher;
    char hex[65];

    ohlcx_blake3_init(&hasher);
    ohlcx_blake3_update(&hasher, input, 1025);
    ohlcx_blake3_final_hex(&hasher, hex);
    assert_string_equal(hex, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444");
    ohlcx_blake3_update(&hasher, input + 1025, 3073 - 1025);
    ohlcx_blake3_final_hex(&hasher, hex);
    assert_string_equal(hex, "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3");
    free(input);
}


static void blake3_missing_file(void **state)
{
    char hex[65];

    assert_int_equal(ohlcx_blake3_file("/nonexistent/ohlcx-blake3.csv", hex), OHLCX_EIO);
    assert_non_null(strstr(ohlcx_last_error(), "/nonexistent/ohlcx-blake3.csv"));
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blake3_known_digests),
        cmocka_unit_test(blake3_boundary_digests),
        cmocka_unit_test(blake3_file_matches_memory),
        cmocka_unit_test(blake3_streaming_odd_pieces),
        cmocka_unit_test(blake3_streaming_whole_chunks),
        cmocka_unit_test(blake3_final_keeps_state),
        cmocka_unit_test(blake3_missing_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
