/* fuzz_tag.c - spfs_tag_parse on untrusted tag-file bytes.
 *
 * Parsing tolerates damage (it drops and counts bad records), so it only
 * fails on oversized input. When nothing was dropped, writing the records
 * back in the tag-file format (docs/store-format.md, tag.c) must give
 * exactly the input: a record has one accepted spelling. Any violation
 * abort()s. */
#include "spfs/spfs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "<64 hex> <seconds> <first 8 hex of sha256("<64 hex> <seconds>")>\n" */
static void encode_record(sp_buf *b, const spfs_tag_record *r)
{
	char hex[SP_DIGEST_HEX_LEN + 1], line[SP_DIGEST_HEX_LEN + 32], dh[SP_DIGEST_HEX_LEN + 1];
	sp_error err = {0};
	sp_digest_to_hex(&r->target, hex);
	int n = snprintf(line, sizeof(line), "%s %" PRId64, hex, r->time);
	sp_digest d;
	if (n < 0 || (size_t)n >= sizeof(line) || sp_digest_buf(&d, line, (size_t)n, &err))
		abort();
	sp_digest_to_hex(&d, dh);
	if (sp_buf_printf(b, &err, "%s %.8s\n", line, dh))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sp_error err = {0};
	spfs_tag_history h;
	int rc = spfs_tag_parse(&h, (const char *)data, size, &err);
	if (rc) {
		if (err.msg[0] == '\0' || h.records != NULL || h.count != 0)
			abort();
		return 0;
	}
	size_t lines = 0;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (size && data[size - 1] != '\n')
		lines++; /* the torn last line */
	if (h.count + h.dropped != lines)
		abort();
	if (h.dropped == 0) {
		sp_buf out = {0};
		for (size_t i = 0; i < h.count; i++)
			encode_record(&out, &h.records[i]);
		if (out.len != size || (size && memcmp(out.data, data, size) != 0))
			abort();
		sp_buf_free(&out);
	}
	spfs_tag_history_free(&h);
	return 0;
}
