/* test_digest.c - SHA-256 and the hex form (common/digest.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/tmpdir.h"

#define SHA_EMPTY     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC	      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_448	      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define MSG_448	      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define SHA_MILLION_A "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

static void hex_of(const sp_digest *d, char *hex)
{
	sp_digest_to_hex(d, hex);
	assert_int_equal(strlen(hex), SP_DIGEST_HEX_LEN);
}

static void test_known_vectors(void **state)
{
	sp_error err = {0};
	sp_digest d;
	char hex[SP_DIGEST_HEX_LEN + 1];
	assert_int_equal(sp_digest_buf(&d, "", 0, &err), 0);
	hex_of(&d, hex);
	assert_string_equal(hex, SHA_EMPTY);
	assert_int_equal(sp_digest_buf(&d, "abc", 3, &err), 0);
	hex_of(&d, hex);
	assert_string_equal(hex, SHA_ABC);
	assert_int_equal(sp_digest_buf(&d, MSG_448, strlen(MSG_448), &err), 0);
	hex_of(&d, hex);
	assert_string_equal(hex, SHA_448);
}

static void test_hasher_incremental_and_reuse(void **state)
{
	sp_error err = {0};
	_cleanup_(sp_hasher_freep) sp_hasher *h = NULL;
	assert_int_equal(sp_hasher_new(&h, &err), 0);
	sp_digest d;
	char hex[SP_DIGEST_HEX_LEN + 1];
	/* one million 'a' in uneven pieces */
	static char chunk[7919];
	memset(chunk, 'a', sizeof(chunk));
	size_t left = 1000000;
	while (left) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
		assert_int_equal(sp_hasher_update(h, chunk, n, &err), 0);
		left -= n;
	}
	assert_int_equal(sp_hasher_final(h, &d, &err), 0);
	hex_of(&d, hex);
	assert_string_equal(hex, SHA_MILLION_A);
	/* final resets: the same hasher now hashes "abc" from scratch */
	assert_int_equal(sp_hasher_update(h, "a", 1, &err), 0);
	assert_int_equal(sp_hasher_update(h, "bc", 2, &err), 0);
	assert_int_equal(sp_hasher_final(h, &d, &err), 0);
	hex_of(&d, hex);
	assert_string_equal(hex, SHA_ABC);
	/* and with nothing fed, the empty digest */
	assert_int_equal(sp_hasher_final(h, &d, &err), 0);
	hex_of(&d, hex);
	assert_string_equal(hex, SHA_EMPTY);
}

static void test_digest_fd(void **state)
{
	tmpdir *t = *state;
	size_t n = 300000;
	char *data = malloc(n);
	assert_non_null(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 7 + 3);
	tmpdir_put(t->fd, "f", data, n, 0644);
	int fd = openat(t->fd, "f", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	sp_error err = {0};
	sp_digest a, b;
	uint64_t size = 0;
	assert_int_equal(sp_digest_fd(&a, &size, fd, &err), 0);
	assert_int_equal(size, n);
	assert_int_equal(sp_digest_buf(&b, data, n, &err), 0);
	assert_int_equal(sp_digest_cmp(&a, &b), 0);
	/* at EOF: the rest of the file is empty */
	assert_int_equal(sp_digest_fd(&a, NULL, fd, &err), 0);
	char hex[SP_DIGEST_HEX_LEN + 1];
	hex_of(&a, hex);
	assert_string_equal(hex, SHA_EMPTY);
	close(fd);
	/* a bad fd is an error with errno, not a crash */
	assert_int_equal(sp_digest_fd(&a, NULL, -1, &err), SP_EIO);
	assert_int_equal(err.sys_errno, EBADF);
	free(data);
}

static void test_hex_round_trip(void **state)
{
	sp_error err = {0};
	sp_digest d, back;
	for (int k = 0; k < 4; k++) {
		for (size_t i = 0; i < SP_DIGEST_LEN; i++)
			d.bytes[i] = (uint8_t)(k == 0 ? 0 : k == 1 ? 0xff : i * 37 + k);
		char hex[SP_DIGEST_HEX_LEN + 1];
		sp_digest_to_hex(&d, hex);
		for (size_t i = 0; i < SP_DIGEST_HEX_LEN; i++)
			assert_true((hex[i] >= '0' && hex[i] <= '9') ||
				    (hex[i] >= 'a' && hex[i] <= 'f'));
		assert_int_equal(sp_digest_from_hex(&back, hex, &err), 0);
		assert_memory_equal(d.bytes, back.bytes, SP_DIGEST_LEN);
	}
	assert_int_equal(sp_digest_from_hex(&back, SHA_ABC, &err), 0);
	assert_int_equal(back.bytes[0], 0xba);
	assert_int_equal(back.bytes[31], 0xad);
}

static void test_hex_rejects(void **state)
{
	const char *bad[] = {
	    "",
	    "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",	 /* uppercase */
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015aD",	 /* one upper */
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",	 /* 63 */
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0", /* 65 */
	    "ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",	 /* g */
	    "ba7816bf8f01cfea414140de5dae2223 00361a396177a9cb410ff61f20015ad",	 /* space */
	    "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015",
	    "ba7816bf",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sp_error err = {0};
		sp_digest d;
		memset(&d, 0x77, sizeof(d));
		assert_int_equal(sp_digest_from_hex(&d, bad[i], &err), SP_EINVALID);
		assert_non_null(strstr(err.msg, "not a digest"));
		assert_int_equal(d.bytes[0], 0x77); /* untouched on failure */
	}
}

static void test_is_hex_cmp_zero(void **state)
{
	assert_true(sp_digest_is_hex("0123456789abcdef", 16));
	assert_true(sp_digest_is_hex("", 0));
	assert_false(sp_digest_is_hex("0123456789abcdeF", 16));
	assert_false(sp_digest_is_hex("xyz", 3));
	assert_true(sp_digest_is_hex("abcX", 3)); /* only len bytes are looked at */
	sp_digest a = {{0}}, b = {{0}};
	assert_true(sp_digest_is_zero(&a));
	assert_int_equal(sp_digest_cmp(&a, &b), 0);
	b.bytes[31] = 1;
	assert_false(sp_digest_is_zero(&b));
	assert_true(sp_digest_cmp(&a, &b) < 0);
	assert_true(sp_digest_cmp(&b, &a) > 0);
	a.bytes[0] = 1;
	assert_true(sp_digest_cmp(&a, &b) > 0); /* the first byte decides */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_vectors),
	    cmocka_unit_test(test_hasher_incremental_and_reuse),
	    cmocka_unit_test_setup_teardown(test_digest_fd, tmpdir_setup, tmpdir_teardown),
	    cmocka_unit_test(test_hex_round_trip),
	    cmocka_unit_test(test_hex_rejects),
	    cmocka_unit_test(test_is_hex_cmp_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
