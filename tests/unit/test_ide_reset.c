// SPDX-License-Identifier: MIT
/*
 * test_ide_reset.c - resets while a drive's request is still with the block
 * layer.  The guest may take back the memory of a command it reset or whose
 * DMA engine it stopped, and may start a new command at once, so:
 *
 * - by the time a software reset (SRST), a system reset or a bus-master stop
 *   has been handled, the old request has finished storing into guest RAM:
 *   a direct READ DMA on the worker thread (hdb, aio=threads) is held inside
 *   its copy into guest RAM by a userfaultfd on the target page, released
 *   from another thread after HOLD_MS; the reset must not return before the
 *   release;
 * - the old request's completion changes nothing of the new command: a READ
 *   DMA on Linux AIO with O_DIRECT (hda) whose completion the loop has not
 *   yet reaped, then SRST and a new READ DMA into another buffer; the same
 *   for an ATAPI DMA read and DEVICE RESET (hdc, buffered: the page cache
 *   serves the read at once and its completion waits for the loop).  The new command gets its own sectors, and
 *   the image runs exactly the two requests the guest asked for.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "device.h"
#include "dm.h"
#include "gmem.h"
#include "ide/ide.h"
#include "ide_util.h"
#include "loop.h"
#include "pci/pci.h"
#include "tap.h"

#define RAM_SIZE (16u << 20)
#define DISK_SECTORS 8192
#define HOLD_MS 300
#define PAGE 4096u

/* hda (native) and hdb (threads) on chan 0, hdc (CD) on chan 1. */
static char disk_a[] = "/tmp/hvm-idereset-a-XXXXXX";
static char disk_b[] = "/tmp/hvm-idereset-b-XXXXXX";
static char disk_c[] = "/tmp/hvm-idereset-c-XXXXXX";

/* Let the loop reap whatever a request left behind (completions, re-submissions). */
static void settle(void)
{
	int i;

	for (i = 0; i < 20; i++)
		loop_run_once(dm->loop, 5);
}

/* Guest address whose host page starts a page: userfaultfd works on whole pages. */
static uint64_t page_gpa(uint64_t near)
{
	uintptr_t host0 = (uintptr_t)gmem_map(dm, 0, 1);
	uintptr_t h = ((uintptr_t)gmem_map(dm, near, 1) + PAGE - 1) & ~(uintptr_t)(PAGE - 1);

	return h - host0;
}

/* Requests a drive's image ran in native mode: through the kernel or the loop, or on the worker. */
static uint64_t native_reqs(unsigned idx)
{
	struct blk_stats st;

	blk_get_stats(piix_ide_drive(dm, idx)->blk, &st);
	return st.native + st.fallback;
}

static uint64_t worker_reqs(unsigned idx)
{
	struct blk_stats st;

	blk_get_stats(piix_ide_drive(dm, idx)->blk, &st);
	return st.worker;
}

/* READ DMA of count sectors at lba into one PRD entry at gpa; the engine started, no wait. */
static void dma_read_start(unsigned unit, uint32_t lba, uint32_t count, uint64_t gpa)
{
	prd(0, (uint32_t)gpa, count * 512, true);
	out(BM(0), 1, 0x00);
	out(BM(2), 1, 0x06); /* clear INT and ERROR */
	out(BM(4), 4, PRD_TABLE);
	out(CMD(6), 1, 0xe0 | unit << 4);
	out(CMD(2), 1, count);
	out(CMD(3), 1, lba & 0xff);
	out(CMD(4), 1, lba >> 8 & 0xff);
	out(CMD(5), 1, lba >> 16 & 0xff);
	out(CMD(7), 1, 0xc8);
	out(BM(0), 1, 0x09);
}

static void srst(void)
{
	out(CTL, 1, 0x04);
	out(CTL, 1, 0x00);
}

/* ---- a request held inside its copy into guest RAM ---------------------- */

struct hold {
	int uffd;
	void *page;
	pthread_t thread;
	int faulted;  /* the request touched the page and waits */
	int released; /* the hold is being lifted (set before the page appears) */
};

static struct hold hold;

static bool hold_released(struct hold *h)
{
	return __atomic_load_n(&h->released, __ATOMIC_SEQ_CST);
}

/* SRST, checking that asserting it already waited for the request. */
static void srst_held(void)
{
	out(CTL, 1, 0x04);
	CHECK(hold_released(&hold));
	CHECK_EQ(in(CTL, 1), 0x90); /* BSY until SRST is cleared */
	out(CTL, 1, 0x00);
}

static void *hold_thread(void *arg)
{
	struct hold *h = arg;
	struct pollfd p = { .fd = h->uffd, .events = POLLIN };
	struct uffd_msg msg;
	struct uffdio_zeropage zp = { .range = { (uintptr_t)h->page, PAGE } };

	if (poll(&p, 1, 5000) == 1 && read(h->uffd, &msg, sizeof(msg)) == sizeof(msg))
		__atomic_store_n(&h->faulted, 1, __ATOMIC_SEQ_CST);
	usleep(HOLD_MS * 1000);
	__atomic_store_n(&h->released, 1, __ATOMIC_SEQ_CST);
	ioctl(h->uffd, UFFDIO_ZEROPAGE, &zp);
	return NULL;
}

/* Arm a hold on the guest page at gpa (page aligned on the host): 0, or -1 without userfaultfd. */
static int hold_arm(struct hold *h, uint64_t gpa)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;

	memset(h, 0, sizeof(*h));
	h->page = gmem_map(dm, gpa, PAGE);
	h->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (h->uffd < 0)
		return -1;
	reg.range.start = (uintptr_t)h->page;
	reg.range.len = PAGE;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(h->uffd, UFFDIO_API, &api) || madvise(h->page, PAGE, MADV_DONTNEED) ||
	    ioctl(h->uffd, UFFDIO_REGISTER, &reg)) {
		close(h->uffd);
		return -1;
	}
	if (pthread_create(&h->thread, NULL, hold_thread, h)) {
		close(h->uffd);
		return -1;
	}
	return 0;
}

/* Wait (bounded) until the request is stuck on the page. */
static bool hold_wait_fault(struct hold *h)
{
	int i;

	for (i = 0; i < 5000 && !__atomic_load_n(&h->faulted, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	return __atomic_load_n(&h->faulted, __ATOMIC_SEQ_CST);
}

static void hold_end(struct hold *h)
{
	pthread_join(h->thread, NULL);
	close(h->uffd);
	settle(); /* whatever the request still had to deliver (a broken reset) */
}

/*
 * hdb (worker thread): READ DMA into a held page, then `reset`; when it
 * returns the request has stored into guest RAM (before the guest can see
 * the reset done) and no completion is left to run.  Then a new command.
 */
static void held_read_then(const char *what, void (*reset)(void), uint8_t want_status,
			   uint8_t want_bm)
{
	uint64_t b1 = page_gpa(0x100000), b2 = page_gpa(0x200000);
	uint64_t workers = worker_reqs(1);
	struct hold *h = &hold;

	chan = 0;
	if (hold_arm(h, b1)) {
		printf("# skip %s: no userfaultfd\n", what);
		return;
	}
	memset(gmem_map(dm, b2, PAGE), 0, PAGE);
	dma_read_start(1, 40, 8, b1);
	CHECK(hold_wait_fault(h));
	reset();
	CHECK(hold_released(h)); /* the reset waited for the request */
	CHECK_EQ(worker_reqs(1), workers + 1);
	CHECK_EQ(cmp_image(b1, PAGE, 40 * 512), 0); /* it finished before the reset did */
	out(CMD(6), 1, 0xf0);
	CHECK_EQ(in(CTL, 1), want_status);
	CHECK_EQ(in(BM(2), 1) & 0x07, want_bm);
	hold_end(h);
	CHECK_EQ(in(CTL, 1), want_status); /* nothing arrived later */
	CHECK_EQ(in(BM(2), 1) & 0x07, want_bm);

	dma_read_start(1, 80, 8, b2);
	CHECK_EQ(wait_idle(CTL), 0x50);
	CHECK_EQ(in(BM(2), 1) & 0x07, 0x04);
	CHECK_EQ(cmp_image(b2, PAGE, 80 * 512), 0);
	CHECK_EQ(cmp_image(b1, PAGE, 40 * 512), 0);
	CHECK_EQ(worker_reqs(1), workers + 2);
	out(BM(0), 1, 0x00);
}

static void system_reset(void)
{
	dev_reset_all(dm, DEV_RESET_WARM);
	ide_map_bmdma(); /* the reset cleared the BAR decode */
}

/*
 * SRST: the drive is reset (DRDY|DSC), the interrupted command raised no
 * interrupt and the engine stays ACTIVE until the guest stops it.
 * Stopping the engine: the command ends with ERR (ABRT) and an interrupt,
 * INT set and ACTIVE clear.  A system reset: as SRST, with the
 * bus master's registers cleared.
 */
static void test_held_reset(void)
{
	held_read_then("srst", srst_held, 0x50, 0x01);
	held_read_then("bm stop", bm_stop, 0x41, 0x04);
	held_read_then("system reset", system_reset, 0x50, 0x00);
}

/* hda (Linux AIO): SRST before the loop reaped the request, then a new READ DMA. */
static void test_unreaped_srst(void)
{
	uint64_t b1 = page_gpa(0x300000), b2 = page_gpa(0x400000);
	uint64_t native = native_reqs(0);

	chan = 0;
	memset(gmem_map(dm, b1, PAGE), 0, PAGE);
	memset(gmem_map(dm, b2, PAGE), 0, PAGE);
	dma_read_start(0, 16, 8, b1);
	srst();
	dma_read_start(0, 24, 8, b2);
	CHECK_EQ(wait_idle(CTL), 0x50);
	settle();
	CHECK_EQ(cmp_image(b2, PAGE, 24 * 512), 0);
	CHECK_EQ(in(BM(2), 1) & 0x07, 0x04);
	CHECK_EQ(native_reqs(0), native + 2);
	out(BM(0), 1, 0x00);
}

/* PACKET READ(10) by DMA of n blocks at lba into gpa on hdc; no wait. */
static void atapi_read_start(uint32_t lba, uint16_t n, uint64_t gpa)
{
	uint8_t p[12];

	prd(0, (uint32_t)gpa, n * 2048u, true);
	read10(p, lba, n);
	bm_stop();
	atapi_dma_start(p);
}

/* hdc: DEVICE RESET before the loop reaped the read, then a new READ(10). */
static void test_unreaped_device_reset(void)
{
	uint64_t b1 = page_gpa(0x500000), b2 = page_gpa(0x600000);
	uint64_t native = native_reqs(2);

	chan = 1;
	memset(gmem_map(dm, b1, 2 * PAGE), 0, 2 * PAGE);
	memset(gmem_map(dm, b2, 2 * PAGE), 0, 2 * PAGE);
	atapi_read_start(3, 2, b1);
	out(CMD(7), 1, 0x08); /* DEVICE RESET */
	CHECK_EQ(in(CTL, 1), 0x00);
	atapi_read_start(9, 4, b2);
	CHECK_EQ(wait_idle(CTL) & 0x01, 0);
	settle();
	CHECK_EQ(cmp_image(b2, 2 * PAGE, 9 * 2048), 0);
	CHECK_EQ(in(BM(2), 1) & 0x07, 0x04);
	CHECK_EQ(native_reqs(2), native + 2);
	out(BM(0), 1, 0x00);
	chan = 0;
}

int main(void)
{
	make_file(disk_a, DISK_SECTORS * 512);
	make_file(disk_b, DISK_SECTORS * 512);
	make_file(disk_c, DISK_SECTORS * 512);
	ide_create(RAM_SIZE);
	/* O_DIRECT: the read stays with the kernel's AIO until the loop reaps it. */
	ide_set_drive(0, disk_a, "format=raw,aio=native,cache=none");
	ide_set_drive(1, disk_b, "format=raw,aio=threads");
	ide_set_drive(2, disk_c, "format=raw,media=cdrom,aio=native");
	ide_start();
	CHECK(piix_ide_drive(dm, 0) && piix_ide_drive(dm, 1) && piix_ide_drive(dm, 2));

	test_unreaped_srst();
	test_unreaped_device_reset();
	test_held_reset();

	ide_finish((char *const[]){ disk_a, disk_b, disk_c }, 3);
	return tap_done();
}
