// SPDX-License-Identifier: MIT
/*
 * randread: 4 KiB random-read IOPS at queue depth 1, the way fio measures
 * it (rw=randread bs=4k iodepth=1 direct=1), for the guest kit, where
 * busybox has no such tool and one dd process per read mostly times
 * fork and exec.
 *
 *   randread DEVICE COUNT BLOCKS SEED
 *
 * COUNT preads of 4 KiB with O_DIRECT at offsets drawn from 0..BLOCKS-1
 * (in 4 KiB blocks; xorshift32 from SEED, so both sides of a comparison
 * read the same blocks), one process, each read timed on CLOCK_MONOTONIC.
 * Prints one line for tests/guest/init to pass on:
 *
 *   COUNT TOTAL_US P50_US P90_US P99_US MAX_US
 *
 * TOTAL_US spans all reads (the clock reads between them included); the
 * percentiles are of the reads alone.  Exit status 1 with a message on
 * stderr for a bad argument or a failed open or read.
 *
 * Built freestanding for i386 (gcc -m32 -nostdlib -static): Linux system
 * calls through int $0x80, no libc, so the kit needs no i386 toolchain.
 */
#define NR_EXIT 1
#define NR_WRITE 4
#define NR_OPEN 5
#define NR_PREAD64 180
#define NR_CLOCK_GETTIME 265

#define O_RDONLY 0
#define O_DIRECT 040000
#define O_LARGEFILE 0100000
#define CLOCK_MONOTONIC 1

#define BLOCK 4096
#define MAX_COUNT 65536

struct ts32 {
	long sec;
	long nsec;
};

static unsigned char buf[BLOCK] __attribute__((aligned(BLOCK)));
static unsigned int lat[MAX_COUNT];

static long sys5(long nr, long a, long b, long c, long d, long e)
{
	long r;

	__asm__ volatile("int $0x80"
			 : "=a"(r)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
			 : "memory");
	return r;
}

static unsigned long slen(const char *s)
{
	unsigned long n = 0;

	while (s[n])
		n++;
	return n;
}

static void say(int fd, const char *s)
{
	sys5(NR_WRITE, fd, (long)s, (long)slen(s), 0, 0);
}

static __attribute__((noreturn)) void leave(int code)
{
	for (;;)
		sys5(NR_EXIT, code, 0, 0, 0, 0);
}

static __attribute__((noreturn)) void fail(const char *what, const char *arg)
{
	say(2, "randread: ");
	say(2, what);
	say(2, arg);
	say(2, "\n");
	leave(1);
}

/* A decimal number below 2^32, or fail naming the argument. */
static unsigned int number(const char *s, const char *name)
{
	unsigned long long v = 0;

	if (!*s)
		fail("empty number for ", name);
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			fail("not a number: ", name);
		v = v * 10 + (unsigned int)(*s - '0');
		if (v > 0xffffffffull)
			fail("number too large: ", name);
	}
	return (unsigned int)v;
}

/* Append v in decimal and a separator to the line at *p. */
static void put_num(char **p, unsigned int v, char sep)
{
	char tmp[12];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*(*p)++ = tmp[--n];
	*(*p)++ = sep;
}

static unsigned int now_us(void)
{
	struct ts32 t;

	if (sys5(NR_CLOCK_GETTIME, CLOCK_MONOTONIC, (long)&t, 0, 0, 0) < 0)
		fail("clock_gettime failed", "");
	return (unsigned int)t.sec * 1000000u + (unsigned int)t.nsec / 1000u;
}

static unsigned int xorshift32(unsigned int *s)
{
	unsigned int x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

/* Shell sort with Ciura's gaps: n log n-ish, no recursion, no library. */
static void sort(unsigned int *v, unsigned int n)
{
	static const unsigned int gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };

	for (unsigned int g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
		unsigned int gap = gaps[g];

		for (unsigned int i = gap; i < n; i++) {
			unsigned int t = v[i], j = i;

			for (; j >= gap && v[j - gap] > t; j -= gap)
				v[j] = v[j - gap];
			v[j] = t;
		}
	}
}

static unsigned int pct(const unsigned int *v, unsigned int n, unsigned int p)
{
	unsigned int i = (n * p + 99) / 100; /* n <= MAX_COUNT: no overflow */

	return v[i ? i - 1 : 0];
}

static __attribute__((noreturn, used)) void run(int argc, char **argv)
{
	unsigned int count, blocks, seed, t0, total;
	char line[96], *p = line;
	long fd;

	if (argc != 5)
		fail("usage: randread DEVICE COUNT BLOCKS SEED", "");
	count = number(argv[2], "COUNT");
	blocks = number(argv[3], "BLOCKS");
	seed = number(argv[4], "SEED");
	if (!count || count > MAX_COUNT)
		fail("COUNT must be 1..65536", "");
	if (!blocks)
		fail("BLOCKS must be at least 1", "");
	if (!seed)
		seed = 1; /* xorshift's one fixed point */
	fd = sys5(NR_OPEN, (long)argv[1], O_RDONLY | O_DIRECT | O_LARGEFILE, 0, 0, 0);
	if (fd < 0)
		fail("cannot open ", argv[1]);
	t0 = now_us();
	for (unsigned int i = 0; i < count; i++) {
		unsigned long long off = (unsigned long long)(xorshift32(&seed) % blocks) * BLOCK;
		unsigned int t = now_us();

		if (sys5(NR_PREAD64, fd, (long)buf, BLOCK, (long)(unsigned int)off,
			 (long)(unsigned int)(off >> 32)) != BLOCK)
			fail("short or failed read on ", argv[1]);
		lat[i] = now_us() - t;
	}
	total = now_us() - t0;
	sort(lat, count);
	put_num(&p, count, ' ');
	put_num(&p, total, ' ');
	put_num(&p, pct(lat, count, 50), ' ');
	put_num(&p, pct(lat, count, 90), ' ');
	put_num(&p, pct(lat, count, 99), ' ');
	put_num(&p, lat[count - 1], '\n');
	*p = 0;
	say(1, line);
	leave(0);
}

/* The kernel enters with argc, argv[] and envp[] on the stack. */
__asm__(".globl _start\n"
	"_start:\n"
	"	xorl %ebp, %ebp\n"
	"	movl (%esp), %eax\n"
	"	leal 4(%esp), %edx\n"
	"	andl $-16, %esp\n"
	"	subl $8, %esp\n"
	"	pushl %edx\n"
	"	pushl %eax\n"
	"	call run\n");
