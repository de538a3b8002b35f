// SPDX-License-Identifier: MIT
/*
 * qcow2_sg.c - the qcow2 scatter/gather path (requests straight to and from
 * the caller's iovec) against the old one-cluster-at-a-time bounce path
 * (qcow2_set_bounce) and against qemu-img's view of the same images.
 *
 * For cluster sizes 512 B, 64 KiB and 2 MiB, images made with qemu-img and
 * qemu-io hold data clusters in reverse file order (so adjacent guest
 * clusters are not adjacent in the file), runs that are, zero clusters (with
 * and without a host cluster), unallocated clusters, compressed clusters, and
 * an overlay on a backing file.  Checked:
 *   reads   random ranges through iovecs of many odd-sized segments (more
 *           than one preadv's worth), buffers prefilled with junk: equal to
 *           the bounce path and to `qemu-img convert -O raw` of the image;
 *   writes  the same random writes (partial clusters, runs of clusters that
 *           straddle boundaries, over every kind of cluster) through both
 *           paths on two copies of the image: after reopening, each reads
 *           back equal to a raw reference the writes were also applied to,
 *           `qemu-img check` is clean on both and `qemu-img compare`
 *           agrees with the reference.
 * On a dm loop (native mode): a read whose L2 table is cached runs on the
 * loop thread and completes from the loop's next turn, not inside
 * blk_submit(); a read of backing-file clusters, a compressed cluster, a
 * read after the page cache was dropped, and writes go to the worker
 * thread; every one returns the right bytes.
 *
 * usage: blk-qcow2-sg DIR (scratch directory); exit 77 without qemu-img.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk_test.h"
#include "qcow2.h"

#define MAX_SEGS 300
#define NREADS 40
#define NWRITES 30

static const char *dir;

/* Run a shell command built from fmt; its exit status (0 = success). */
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc)
		printf("# command failed (%d): %s\n", rc, cmd);
	return rc;
}

static uint8_t *read_file(const char *path, size_t len)
{
	uint8_t *buf = calloc(1, len);
	int fd = open(path, O_RDONLY);

	if (!buf || fd < 0 || pread(fd, buf, len, 0) < 0) {
		free(buf);
		buf = NULL;
	}
	if (fd >= 0)
		close(fd);
	return buf;
}

static struct blk *open_img(const char *path, bool ro, bool bounce)
{
	struct blk_opts o = { .path = path, .format = "qcow2", .readonly = ro };
	struct blk *b = NULL;

	if (blk_open(&o, NULL, &b))
		return NULL;
	if (qcow2_set_bounce(b, bounce)) {
		blk_close(b);
		return NULL;
	}
	return b;
}

/* Split buf[0, len) into up to MAX_SEGS segments of random (odd) sizes. */
static int scatter(uint8_t *buf, size_t len, struct iovec *iov)
{
	size_t pos = 0;
	int n = 0;

	while (pos < len) {
		size_t left = len - pos, seg;

		if (n == MAX_SEGS - 1)
			seg = left;
		else if (rnd(4) == 0)
			seg = 1 + rnd(600);
		else
			seg = 1 + rnd(len / 40 + 1);
		if (seg > left)
			seg = left;
		iov[n++] = (struct iovec){ buf + pos, seg };
		pos += seg;
	}
	return n;
}

/* A random range: within a cluster, straddling a few, or many clusters. */
static void random_range(uint64_t size, uint64_t cs, uint64_t *off, size_t *len)
{
	uint64_t max;

	switch (rnd(3)) {
	case 0:
		max = cs;
		break;
	case 1:
		max = 3 * cs;
		break;
	default:
		max = cs < 65536 ? 256 * 1024 : 5 * cs / 2;
	}
	*len = 1 + rnd(max);
	if (*len > size / 2)
		*len = size / 2;
	*off = rnd(size - *len);
	if (rnd(2))
		*off &= ~(uint64_t)511; /* sector aligned like IDE, half of the time */
}

/* Read [off, off+len) through a scattered iovec into a junk-filled buffer. */
static int sg_read(struct blk *b, uint8_t *buf, uint64_t off, size_t len)
{
	static struct iovec iov[MAX_SEGS];
	int n;

	memset(buf, 0xa5, len);
	n = scatter(buf, len, iov);
	return blk_preadv(b, iov, n, off) == (ssize_t)len ? 0 : -1;
}

/* Reads through both paths equal each other and the raw view qemu-img gives. */
static void check_reads(const char *img, uint64_t size, uint64_t cs, const char *label)
{
	char raw[512];
	struct blk *sg = open_img(img, true, false), *bo = open_img(img, true, true);
	uint8_t *truth, *a = malloc(size), *c = malloc(size);
	int i, bad = 0;

	snprintf(raw, sizeof(raw), "%s/truth.raw", dir);
	CHECK(sg && bo, "%s: open", label);
	CHECK(!sh("qemu-img convert -O raw '%s' '%s'", img, raw), "%s: convert", label);
	truth = read_file(raw, size);
	if (!sg || !bo || !truth || !a || !c)
		goto out;
	/* The whole image in one request, then random ranges. */
	CHECK(!sg_read(sg, a, 0, size) && !memcmp(a, truth, size), "%s: whole image (sg)", label);
	for (i = 0; i < NREADS && !bad; i++) {
		uint64_t off;
		size_t len;

		random_range(size, cs, &off, &len);
		bad = sg_read(sg, a, off, len) || sg_read(bo, c, off, len) || memcmp(a, c, len) ||
		      memcmp(a, truth + off, len);
		CHECK(!bad, "%s: read [0x%" PRIx64 ", +0x%zx): sg %s bounce, %s qemu-img", label,
		      off, len,
		      memcmp(a, c, len) ? "!=" : "==", memcmp(a, truth + off, len) ? "!=" : "==");
	}
	if (!bad)
		printf("ok - %s: %d scattered reads equal bounce path and qemu-img\n", label,
		       NREADS);
out:
	free(truth);
	free(a);
	free(c);
	if (sg)
		blk_close(sg);
	if (bo)
		blk_close(bo);
}

static int apply_raw(const char *ref, const uint8_t *data, size_t len, uint64_t off)
{
	int fd = open(ref, O_WRONLY);
	ssize_t n = fd < 0 ? -1 : pwrite(fd, data, len, (off_t)off);

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* The same random writes through both paths on copies of img; see the header. */
static void check_writes(const char *img, uint64_t size, uint64_t cs, const char *label)
{
	char ximg[512], yimg[512], ref[512];
	struct blk *x, *y;
	static struct iovec iov[MAX_SEGS];
	uint8_t *data = malloc(size), *a = malloc(size), *truth = NULL;
	int i, n, err = 0;

	snprintf(ximg, sizeof(ximg), "%s/w-sg.qcow2", dir);
	snprintf(yimg, sizeof(yimg), "%s/w-bounce.qcow2", dir);
	snprintf(ref, sizeof(ref), "%s/w-ref.raw", dir);
	if (!data || !a || sh("cp '%s' '%s' && cp '%s' '%s'", img, ximg, img, yimg) ||
	    sh("qemu-img convert -O raw '%s' '%s'", img, ref)) {
		CHECK(0, "%s: setup", label);
		goto out;
	}
	x = open_img(ximg, false, false);
	y = open_img(yimg, false, true);
	CHECK(x && y, "%s: open for writing", label);
	for (i = 0; x && y && i < NWRITES && !err; i++) {
		uint64_t off;
		size_t len, k;

		random_range(size, cs, &off, &len);
		for (k = 0; k < len; k++)
			data[k] = (uint8_t)rnd(256);
		if (rnd(5) == 0)
			memset(data, 0, len); /* zeros are data too */
		n = scatter(data, len, iov);
		err = blk_pwritev(x, iov, n, off) != (ssize_t)len ||
		      blk_pwritev(y, iov, n, off) != (ssize_t)len || apply_raw(ref, data, len, off);
		CHECK(!err, "%s: write %d [0x%" PRIx64 ", +0x%zx)", label, i, off, len);
	}
	if (x)
		blk_close(x);
	if (y)
		blk_close(y);
	if (err)
		goto out;
	truth = read_file(ref, size);
	/* Reopened, so what is checked is on disk, not in a cache. */
	x = open_img(ximg, true, false);
	y = open_img(yimg, true, true);
	CHECK(x && y && truth, "%s: reopen", label);
	if (x && y && truth) {
		CHECK(!sg_read(x, a, 0, size) && !memcmp(a, truth, size),
		      "%s: sg-written image reads back the reference", label);
		CHECK(!sg_read(y, a, 0, size) && !memcmp(a, truth, size),
		      "%s: bounce-written image reads back the reference", label);
	}
	if (x)
		blk_close(x);
	if (y)
		blk_close(y);
	CHECK(!sh("qemu-img check -q '%s'", ximg), "%s: qemu-img check (sg)", label);
	CHECK(!sh("qemu-img check -q '%s'", yimg), "%s: qemu-img check (bounce)", label);
	CHECK(!sh("qemu-img compare -q -f qcow2 -F raw '%s' '%s'", ximg, ref),
	      "%s: qemu-img compare (sg)", label);
	printf("# %s: %d writes done\n", label, NWRITES);
out:
	free(truth);
	free(data);
	free(a);
}

/* qemu-io writes of pattern p at cluster indexes (in the order given). */
static int qio_writes(const char *img, uint64_t cs, const char *what, const int *idx, int n)
{
	char cmd[1024];
	size_t pos = 0;
	int i;

	for (i = 0; i < n && pos < sizeof(cmd) - 100; i++)
		pos += (size_t)snprintf(cmd + pos, sizeof(cmd) - pos,
					" -c '%s %" PRIu64 " %" PRIu64 "'", what,
					(uint64_t)idx[i] * cs, cs);
	return sh("qemu-io -f qcow2%s '%s' >/dev/null", cmd, img);
}

/*
 * Mixed image of 24 clusters (48 for small clusters): data written in
 * reverse order, a run written in order, zero clusters (one keeping its host
 * cluster, one unmapped), gaps left unallocated.
 */
static int make_mixed(const char *img, uint64_t cs, uint64_t size)
{
	static const int rev[] = { 7, 6, 5, 3, 2, 1 };
	static const int fwd[] = { 12, 13, 14, 15, 16 };
	static const int zero_alloc[] = { 14, 2 };
	static const int zero_unmap[] = { 20, 21 };

	return sh("qemu-img create -q -f qcow2 -o cluster_size=%" PRIu64 " '%s' %" PRIu64, cs, img,
		  size) ||
	       qio_writes(img, cs, "write -P 0x11", rev, 6) ||
	       qio_writes(img, cs, "write -P 0x22", fwd, 5) ||
	       sh("qemu-io -f qcow2 -c 'write -P 0x33 %" PRIu64 " %" PRIu64 "' '%s' >/dev/null",
		  cs / 2 + 9 * cs, 3 * cs, img) ||
	       qio_writes(img, cs, "write -z", zero_alloc, 2) ||
	       qio_writes(img, cs, "write -z -u", zero_unmap, 2);
}

/* Random bytes in a raw file, compressed into a qcow2 image. */
static int make_compressed(const char *img, uint64_t cs, uint64_t size)
{
	char raw[512];

	snprintf(raw, sizeof(raw), "%s/src.raw", dir);
	/* Half the clusters compress (text), half do not (random): both kinds stay. */
	return sh("rm -f '%s' && truncate -s %" PRIu64 " '%s' && "
		  "head -c %" PRIu64 " /dev/urandom | dd of='%s' conv=notrunc status=none && "
		  "yes hvmdm | head -c %" PRIu64 " | dd of='%s' bs=%" PRIu64 " seek=1 conv=notrunc "
		  "status=none",
		  raw, size, raw, size / 2, raw, size / 4, raw, size / 2) ||
	       sh("qemu-img convert -c -O qcow2 -o cluster_size=%" PRIu64 " -f raw '%s' '%s'", cs,
		  raw, img);
}

/* An overlay on the mixed image: some clusters of its own, the rest from the base. */
static int make_overlay(const char *img, const char *base, uint64_t cs)
{
	static const int own[] = { 4, 5, 18, 19 };

	return sh("qemu-img create -q -f qcow2 -o cluster_size=%" PRIu64 " -b '%s' -F qcow2 '%s'",
		  cs, base, img) ||
	       qio_writes(img, cs, "write -P 0x44", own, 4) ||
	       qio_writes(img, cs, "write -z", own + 3, 1);
}

/* Drop the file's pages from the page cache (best effort): true when none stay resident. */
static bool drop_cache(const char *path)
{
	int fd = open(path, O_RDONLY), i;
	struct stat st;
	unsigned char *vec = NULL;
	size_t pages = 0, k, left = 1;
	void *m = MAP_FAILED;

	if (fd < 0 || fstat(fd, &st) || !st.st_size)
		goto out;
	pages = ((size_t)st.st_size + 4095) / 4096;
	vec = malloc(pages);
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (!vec || m == MAP_FAILED)
		goto out;
	for (i = 0; i < 20 && left; i++) {
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		if (mincore(m, (size_t)st.st_size, vec))
			break;
		for (k = 0, left = 0; k < pages; k++)
			left += vec[k] & 1;
		if (left)
			usleep(10000);
	}
out:
	if (m != MAP_FAILED)
		munmap(m, (size_t)st.st_size);
	free(vec);
	if (fd >= 0)
		close(fd);
	return pages && !left;
}

/* Submit one request and run the loop until it completes; *early: it completed inside submit. */
static int submit_wait(struct dm_loop *l, struct blk *b, enum blk_op op, uint8_t *buf, size_t len,
		       uint64_t off, bool *early)
{
	static struct test_req a;

	test_req_init(&a, op, off);
	a.req.iov[0] = (struct iovec){ buf, len };
	a.req.iovcnt = 1;
	if (blk_submit(b, &a.req))
		return -1;
	*early = a.done != 0;
	run_until(l, &a.done, 1);
	return a.done == 1 ? a.err : -1;
}

/* One read: right bytes, never completed inside submit, and which path ran it. */
enum {
	WORKER,
	LOOP,
	ANY
};

static void native_read(struct dm_loop *l, struct blk *b, const uint8_t *truth, uint64_t off,
			size_t len, int where, const char *what)
{
	static uint8_t buf[1 << 17];
	struct blk_stats s0, s1;
	bool early = true;
	int err;

	memset(buf, 0xa5, len);
	blk_get_stats(b, &s0);
	err = submit_wait(l, b, BLK_READ, buf, len, off, &early);
	blk_get_stats(b, &s1);
	CHECK(!err && !memcmp(buf, truth + off, len), "native: %s: data", what);
	CHECK(!early, "native: %s: completed inside blk_submit()", what);
	CHECK(s1.native - s0.native + s1.fallback - s0.fallback == 1 &&
		      (where == ANY || s1.native - s0.native == (where == LOOP ? 1u : 0u)),
	      "native: %s: ran on the %s (native +%" PRIu64 ", worker +%" PRIu64 ")", what,
	      where == LOOP ? "loop thread" : "worker thread", s1.native - s0.native,
	      s1.fallback - s0.fallback);
}

/* The overlay (64 KiB clusters): own clusters 4, 5, 18, 19; the rest from the base. */
static void check_native(const char *img, const char *comp, uint64_t size)
{
	struct blk_opts o = { .path = img, .format = "qcow2" },
			oc = { .path = comp, .format = "qcow2" };
	static uint8_t wbuf[4096];
	uint8_t *truth, *ctruth;
	char raw[512];
	struct dm_loop *l = NULL;
	struct blk *b = NULL, *c = NULL;
	bool early;

	snprintf(raw, sizeof(raw), "%s/truth.raw", dir);
	truth = sh("qemu-img convert -O raw '%s' '%s'", img, raw) ? NULL : read_file(raw, size);
	ctruth = sh("qemu-img convert -O raw '%s' '%s'", comp, raw) ? NULL : read_file(raw, size);
	if (!truth || !ctruth) {
		CHECK(0, "native: setup");
		free(truth);
		free(ctruth);
		return;
	}
	CHECK(!loop_create(&l) && !blk_open(&o, l, &b) && !blk_open(&oc, l, &c), "native: open");
	if (b && c) {
		CHECK(!strcmp(blk_aio_name(b), "native"), "native: mode %s", blk_aio_name(b));
		native_read(l, b, truth, 4 * 65536 + 512, 8192, WORKER,
			    "first read (L2 table to load)");
		native_read(l, b, truth, 4 * 65536 + 512, 8192, LOOP, "cached read");
		native_read(l, b, truth, 4 * 65536, 2 * 65536, LOOP, "two adjacent clusters");
		native_read(l, b, truth, 0, 4096, WORKER, "backing-file cluster");
		native_read(l, c, ctruth, 0, 4096, WORKER, "compressed image: L2 table");
		native_read(l, c, ctruth, 8192, 4096, LOOP, "compressed image: plain cluster");
		native_read(l, c, ctruth, size / 2 + 8192, 4096, WORKER, "compressed cluster");
		/*
		 * After the page cache is dropped: right bytes whichever thread ran
		 * it (RWF_NOWAIT may still succeed when the readahead it starts
		 * finishes at once, so the path is not checked).
		 */
		drop_cache(img);
		native_read(l, b, truth, 18 * 65536, 4096, ANY, "page cache dropped");
		CHECK(!submit_wait(l, b, BLK_WRITE, wbuf, sizeof(wbuf), 65536, &early) && !early,
		      "native: write");
		memcpy(truth + 65536, wbuf, sizeof(wbuf));
		native_read(l, b, truth, 65536, 8192, LOOP, "read after a write");
	}
	if (b)
		blk_close(b);
	if (c)
		blk_close(c);
	if (l)
		loop_destroy(l);
	free(truth);
	free(ctruth);
	printf("# native-mode checks done\n");
}

/* Reads and writes on img, or a failure if it could not be made (made != 0); true if checked. */
static bool check_image(const char *img, int made, uint64_t size, uint64_t cs, const char *kind)
{
	char label[64];

	snprintf(label, sizeof(label), "cluster %" PRIu64 " %s", cs, kind);
	if (made) {
		CHECK(0, "%s: make image", label);
		return false;
	}
	check_reads(img, size, cs, label);
	check_writes(img, size, cs, label);
	return true;
}

static void run_cluster_size(uint64_t cs)
{
	uint64_t size = cs < 65536 ? 48 * cs : 24 * cs;
	char img[512], base[512], comp[512];

	snprintf(base, sizeof(base), "%s/mixed.qcow2", dir);
	snprintf(comp, sizeof(comp), "%s/comp.qcow2", dir);
	snprintf(img, sizeof(img), "%s/overlay.qcow2", dir);
	if (!check_image(base, make_mixed(base, cs, size), size, cs, "mixed"))
		return;
	check_image(comp, make_compressed(comp, cs, size), size, cs, "compressed");
	if (check_image(img, make_overlay(img, base, cs), size, cs, "backing") && cs == 65536)
		check_native(img, comp, size);
}

int main(int argc, char **argv)
{
	static const uint64_t sizes[] = { 512, 65536, 2u << 20 };
	char tmp[4096];
	unsigned i;

	if (argc < 2) {
		fprintf(stderr, "usage: blk-qcow2-sg DIR\n");
		return 2;
	}
	if (system("qemu-img --version >/dev/null 2>&1 && qemu-io --version >/dev/null 2>&1")) {
		printf("SKIPPED: qemu-img/qemu-io missing\n");
		return 77;
	}
	snprintf(tmp, sizeof(tmp), "%s/qcow2-sg-XXXXXX", argv[1]);
	dir = mkdtemp(tmp);
	if (!dir) {
		perror("mkdtemp");
		return 1;
	}
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		rng_state = 0x9e3779b97f4a7c15ull + i;
		run_cluster_size(sizes[i]);
	}
	sh("rm -rf '%s'", dir);
	printf("%d failures\n", fails);
	return fails ? 1 : 0;
}
