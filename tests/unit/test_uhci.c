// SPDX-License-Identifier: MIT
/*
 * test_uhci.c - the PIIX3 UHCI controller and the USB tablet on a standalone
 * dm (i440fx, piix3, piix3-usb-uhci, usb-tablet), driven through BAR4 and a
 * schedule built in guest RAM, frames run by stepping the virtual clock:
 * PCI identity and USBLEGSUP; reset, halt and port semantics; enumeration
 * (device, configuration, string descriptors, SET_ADDRESS,
 * SET_CONFIGURATION); an absolute pointer event through the input router
 * read back as a report on the interrupt endpoint, NAK without one; IOC and
 * USBINT with the PIRQ-routed interrupt; the CVE-2020-14364 SETUP with
 * wLength 0xFFFF; schedules that loop (a TD linking to itself, a QH ring, a
 * completed TD looping depth-first); an invalid MaxLen; global reset.
 */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "device.h"
#include "dm.h"
#include "gmem.h"
#include "input.h"
#include "io_util.h"
#include "pci/pci.h"
#include "tap.h"

#define RAM_SIZE (16u << 20)
#define UHCI_IO 0xc080
#define UHCI_GSI 11
#define UHCI_DEVFN PCI_DEVFN(1, 2)

#define USBCMD (UHCI_IO + 0x00)
#define USBSTS (UHCI_IO + 0x02)
#define USBINTR (UHCI_IO + 0x04)
#define FRNUM (UHCI_IO + 0x06)
#define FLBASEADD (UHCI_IO + 0x08)
#define SOFMOD (UHCI_IO + 0x0c)
#define PORTSC1 (UHCI_IO + 0x10)
#define PORTSC2 (UHCI_IO + 0x12)

#define FL 0x10000    /* frame list */
#define QH 0x20000    /* the queue head every frame starts with */
#define QH2 0x20100   /* a second queue head (loops) */
#define TDS 0x21000   /* TD i at TDS + 32 * i */
#define BUF 0x30000   /* data buffers */
#define GUARD 0x40000 /* buffer followed by guard bytes */

#define PID_SETUP 0x2d
#define PID_IN 0x69
#define PID_OUT 0xe1

#define TD_ACTIVE (1u << 23)
#define TD_IOC (1u << 24)
#define TD_STALLED (1u << 22)
#define TD_NAK (1u << 19)
#define TD_CRCTO (1u << 18)
#define TD_BABBLE (1u << 20)
#define TD_ERRBITS (0x7eu << 16)
#define TD_CERR3 (3u << 27)

static struct dm *dm;
static struct pci_bus *bus;
static uint32_t data_ctrl; /* extra control bits of control()'s data TDs */

static uint16_t rd(uint16_t port)
{
	return (uint16_t)pio_in(dm, port, 2);
}

static void wr(uint16_t port, uint16_t v)
{
	pio_out(dm, port, 2, v);
}

static uint32_t peek32(uint64_t gpa)
{
	uint32_t v = 0xdeadbeef;

	CHECK_EQ(gmem_read_u32(dm, gpa, &v), 0);
	return v;
}

static void poke32(uint64_t gpa, uint32_t v)
{
	CHECK_EQ(gmem_write_u32(dm, gpa, v), 0);
}

static uint64_t td_addr(unsigned i)
{
	return TDS + 32 * i;
}

/* TD i: link, control, token for pid/addr/ep/toggle/len (len 0: null), buffer. */
static void td(unsigned i, uint32_t link, uint32_t ctrl, uint8_t pid, uint8_t addr, uint8_t ep,
	       unsigned toggle, unsigned len, uint32_t buf)
{
	uint32_t maxlen = len ? len - 1 : 0x7ff;

	poke32(td_addr(i), link);
	poke32(td_addr(i) + 4, ctrl);
	poke32(td_addr(i) + 8, pid | addr << 8 | (uint32_t)ep << 15 | toggle << 19 | maxlen << 21);
	poke32(td_addr(i) + 12, buf);
}

static uint32_t td_ctrl(unsigned i)
{
	return peek32(td_addr(i) + 4);
}

/* Bytes moved by TD i (ActLen is n - 1). */
static unsigned td_actlen(unsigned i)
{
	return (td_ctrl(i) + 1) & 0x7ff;
}

static void run_frames(unsigned n)
{
	clock_set(dm->clock, clock_ns(dm->clock) + n * NS_PER_MS);
}

/* Every frame list entry points at QH (or at `entry`). */
static void fill_frame_list(uint32_t entry)
{
	unsigned i;

	for (i = 0; i < 1024; i++)
		poke32(FL + 4 * i, entry);
}

static void setup_packet(uint32_t gpa, uint8_t type, uint8_t req, uint16_t value, uint16_t index,
			 uint16_t length)
{
	uint8_t p[8] = { type,	       req,	   value & 0xff,  value >> 8,
			 index & 0xff, index >> 8, length & 0xff, length >> 8 };

	CHECK_EQ(gmem_write(dm, gpa, p, sizeof(p)), 0);
}

/*
 * A control transfer to addr on endpoint 0 queued on QH, run for a few
 * frames.  IN data lands at BUF + 0x100 in 8-byte packets.  Returns the
 * number of data bytes the IN stage got, or -1 when a TD ended in error or
 * stayed active (the failing TD's control word is in *bad).
 */
static int control(uint8_t addr, uint8_t type, uint8_t req, uint16_t value, uint16_t index,
		   uint16_t length, uint32_t *bad)
{
	unsigned ntd = 0, i, got = 0, n;
	bool in = type & 0x80;
	uint32_t cerr = TD_CERR3 | TD_ACTIVE;

	setup_packet(BUF, type, req, value, index, length);
	td(ntd, 0, cerr, PID_SETUP, addr, 0, 0, 8, BUF);
	ntd++;
	for (n = 0; n < length && ntd < 40; n += 8) {
		unsigned len = length - n < 8 ? length - n : 8;

		td(ntd, 0, cerr | data_ctrl, in ? PID_IN : PID_OUT, addr, 0, ntd & 1, len,
		   BUF + 0x100 + n);
		ntd++;
	}
	td(ntd, 1, cerr | TD_IOC, in ? PID_OUT : PID_IN, addr, 0, 1, 0, 0);
	ntd++;
	for (i = 0; i + 1 < ntd; i++)
		poke32(td_addr(i), (uint32_t)td_addr(i + 1) | 0x4); /* depth first */
	poke32(QH, 1);
	poke32(QH + 4, (uint32_t)td_addr(0));
	run_frames(3);
	*bad = 0;
	for (i = 0; i < ntd; i++) {
		uint32_t c = td_ctrl(i);

		if (c & (TD_ACTIVE | TD_ERRBITS)) {
			*bad = c;
			return -1;
		}
		if (i && i + 1 < ntd)
			got += td_actlen(i);
	}
	return (int)got;
}

static void test_pci(void)
{
	CHECK_EQ(pci_bus_config_read(bus, 0, UHCI_DEVFN, 0x00, 4), 0x70208086);
	CHECK_EQ(pci_bus_config_read(bus, 0, UHCI_DEVFN, 0x08, 4) >> 8, 0x0c0300);
	CHECK_EQ(pci_bus_config_read(bus, 0, UHCI_DEVFN, PCI_INTERRUPT_PIN, 1), 4);
	CHECK_EQ(pci_bus_config_read(bus, 0, UHCI_DEVFN, 0x60, 1), 0x10);
	CHECK_EQ(pci_bus_config_read(bus, 0, UHCI_DEVFN, 0xc0, 2), 0x2000);
	/* Read-only and write-1-to-clear bits do not stick; the rest does. */
	pci_bus_config_write(bus, 0, UHCI_DEVFN, 0xc0, 0xffff, 2);
	CHECK_EQ(pci_bus_config_read(bus, 0, UHCI_DEVFN, 0xc0, 2), 0x20bf);
	pci_bus_config_write(bus, 0, UHCI_DEVFN, 0xc0, 0x2000, 2);
	CHECK_EQ(pci_bus_config_read(bus, 0, UHCI_DEVFN, 0xc0, 2), 0x2000);
	/* BAR4 is 32 bytes of I/O. */
	CHECK_EQ(pci_bus_config_read(bus, 0, UHCI_DEVFN, 0x20, 4), UHCI_IO | 1);
	pci_bus_config_write(bus, 0, UHCI_DEVFN, 0x20, 0xffffffff, 4);
	CHECK_EQ(pci_bus_config_read(bus, 0, UHCI_DEVFN, 0x20, 4) & 0xffff, 0xffe1);
	pci_bus_config_write(bus, 0, UHCI_DEVFN, 0x20, UHCI_IO | 1, 4);
}

static void test_regs(void)
{
	uint16_t f;

	CHECK_EQ(rd(USBCMD), 0);
	CHECK_EQ(rd(USBSTS), 0x20); /* halted */
	CHECK_EQ(rd(USBINTR), 0);
	CHECK_EQ(rd(FRNUM), 0);
	CHECK_EQ(pio_in(dm, SOFMOD, 1), 0x40);
	/* The tablet sits on port 1: connected, changed, full-speed J. */
	CHECK_EQ(rd(PORTSC1), 0x0093);
	CHECK_EQ(rd(PORTSC2), 0x0080);
	wr(PORTSC1, 0x0002); /* clear CSC */
	CHECK_EQ(rd(PORTSC1), 0x0091);
	wr(PORTSC2, 0x0004); /* nothing connected: cannot enable */
	CHECK_EQ(rd(PORTSC2), 0x0080);
	wr(PORTSC1, 0x0004);
	CHECK_EQ(rd(PORTSC1), 0x0095);
	wr(PORTSC1, 0x0200); /* reset: the port is disabled meanwhile */
	CHECK_EQ(rd(PORTSC1), 0x0281);
	wr(PORTSC1, 0x0000);
	CHECK_EQ(rd(PORTSC1), 0x0091);
	wr(PORTSC1, 0x0004);
	CHECK_EQ(rd(PORTSC1) & 0x0004, 0x0004);

	/* FRNUM is written while halted only; frames run only with RS. */
	wr(FRNUM, 0x123);
	CHECK_EQ(rd(FRNUM), 0x123);
	run_frames(5);
	CHECK_EQ(rd(FRNUM), 0x123);
	pio_out(dm, FLBASEADD, 4, FL | 0xabc);
	CHECK_EQ(pio_in(dm, FLBASEADD, 4), FL); /* 4 KiB aligned */
	fill_frame_list(1);
	wr(USBCMD, 0x0001);
	CHECK_EQ(rd(USBSTS) & 0x20, 0);
	run_frames(5);
	f = rd(FRNUM);
	CHECK_EQ(f, 0x128);
	wr(FRNUM, 0); /* ignored while running */
	CHECK_EQ(rd(FRNUM), f);
	wr(USBCMD, 0x0000);
	CHECK_EQ(rd(USBSTS) & 0x20, 0x20);
	run_frames(5);
	CHECK_EQ(rd(FRNUM), f);

	/* HCRESET: registers back to defaults, the port disabled and changed. */
	wr(USBINTR, 0x000f);
	pio_out(dm, SOFMOD, 1, 0x33);
	wr(USBCMD, 0x0002);
	CHECK_EQ(rd(USBCMD), 0);
	CHECK_EQ(rd(USBSTS), 0x20);
	CHECK_EQ(rd(USBINTR), 0);
	CHECK_EQ(rd(FRNUM), 0);
	CHECK_EQ(pio_in(dm, FLBASEADD, 4), 0);
	CHECK_EQ(pio_in(dm, SOFMOD, 1), 0x40);
	CHECK_EQ(rd(PORTSC1), 0x0093);
	/* USBSTS bits clear by writing 1; HCHalted stays while stopped. */
	wr(USBSTS, 0x003f);
	CHECK_EQ(rd(USBSTS), 0x20);
}

/* Port enabled, schedule at FL, interrupts on, running. */
static void start(void)
{
	wr(PORTSC1, 0x0200);
	wr(PORTSC1, 0x0000);
	wr(PORTSC1, 0x000e);
	pio_out(dm, FLBASEADD, 4, FL);
	fill_frame_list(QH | 2);
	poke32(QH, 1);
	poke32(QH + 4, 1);
	wr(USBINTR, 0x000f);
	wr(USBCMD, 0x0041); /* RS, CF */
	CHECK_EQ(rd(USBSTS) & 0x20, 0);
}

static void test_enumerate(void)
{
	uint8_t d[64];
	uint32_t bad;
	int n;

	start();
	memset(d, 0, sizeof(d));
	CHECK_EQ(control(0, 0x80, 6, 0x0100, 0, 18, &bad), 18);
	CHECK_EQ(bad, 0);
	CHECK_EQ(gmem_read(dm, BUF + 0x100, d, 18), 0);
	CHECK_EQ(d[0], 18);
	CHECK_EQ(d[1], 1);
	CHECK_EQ(d[7], 8); /* bMaxPacketSize0 */
	CHECK_EQ(d[8] | d[9] << 8, 0x0627);
	CHECK_EQ(d[10] | d[11] << 8, 0x0001);
	CHECK_EQ(d[17], 1);
	CHECK_EQ(td_actlen(0), 8);	 /* the SETUP TD */
	CHECK_EQ(peek32(QH + 4) & 1, 1); /* the queue ran dry */
	/* The status TD had IOC: USBINT and the PIRQA-routed line. */
	CHECK(rd(USBSTS) & 0x01);
	CHECK_EQ(dm_irq_level(dm, UHCI_GSI), 1);
	wr(USBSTS, 0x0001);
	CHECK_EQ(rd(USBSTS) & 0x01, 0);
	CHECK_EQ(dm_irq_level(dm, UHCI_GSI), 0);

	/* SET_ADDRESS 5: address 0 no longer answers, 5 does. */
	CHECK_EQ(control(0, 0x00, 5, 5, 0, 0, &bad), 0);
	CHECK_EQ(control(0, 0x80, 6, 0x0100, 0, 18, &bad), -1);
	CHECK(bad & TD_CRCTO);
	CHECK(!(bad & TD_ACTIVE));
	CHECK(rd(USBSTS) & 0x02); /* USBERRINT */
	CHECK_EQ(dm_irq_level(dm, UHCI_GSI), 1);
	wr(USBSTS, 0x0003);
	CHECK_EQ(dm_irq_level(dm, UHCI_GSI), 0);
	CHECK_EQ(control(5, 0x80, 6, 0x0100, 0, 18, &bad), 18);

	/* Configuration: 34 bytes, one interrupt IN endpoint 0x81, 8 bytes, 10 ms. */
	/* Asked for 255: a short packet ends the data stage, the queue goes on. */
	CHECK_EQ(control(5, 0x80, 6, 0x0200, 0, 255, &bad), 34);
	CHECK_EQ(peek32(QH + 4) & 1, 1);
	/* With SPD the queue stops at the short TD, with USBINT (short packet). */
	wr(USBSTS, 0x003f);
	data_ctrl = 1u << 29;
	CHECK_EQ(control(5, 0x80, 6, 0x0200, 0, 40, &bad), -1);
	data_ctrl = 0;
	CHECK_EQ(td_ctrl(5) & TD_ACTIVE, 0);
	CHECK_EQ(td_actlen(5), 2);
	CHECK_EQ(peek32(QH + 4), td_addr(5) | 4);
	CHECK(td_ctrl(6) & TD_ACTIVE);
	CHECK(rd(USBSTS) & 0x01);
	CHECK_EQ(dm_irq_level(dm, UHCI_GSI), 1);
	wr(USBSTS, 0x003f);
	CHECK_EQ(dm_irq_level(dm, UHCI_GSI), 0);
	memset(d, 0, sizeof(d));
	n = control(5, 0x80, 6, 0x0200, 0, 34, &bad);
	CHECK_EQ(n, 34);
	CHECK_EQ(gmem_read(dm, BUF + 0x100, d, 34), 0);
	CHECK_EQ(d[2] | d[3] << 8, 34);
	CHECK_EQ(d[9 + 5], 3);	   /* interface class HID */
	CHECK_EQ(d[18 + 1], 0x21); /* HID descriptor */
	CHECK_EQ(d[27 + 2], 0x81);
	CHECK_EQ(d[27 + 3], 3);
	CHECK_EQ(d[27 + 4], 8);
	CHECK_EQ(d[27 + 6], 10);

	/* Product string. */
	memset(d, 0, sizeof(d));
	n = control(5, 0x80, 6, 0x0302, 0x0409, 64, &bad);
	CHECK_EQ(n, 2 + 2 * 16);
	CHECK_EQ(gmem_read(dm, BUF + 0x100, d, 64), 0);
	CHECK_EQ(d[0], 34);
	CHECK_EQ(d[1], 3);
	CHECK_EQ(d[2], 'H');
	CHECK_EQ(d[2 + 2 * 6], 'U');
	CHECK_EQ(d[2 + 2 * 15], 't');

	/* Report descriptor: what the HID descriptor announced. */
	n = control(5, 0x81, 6, 0x2200, 0, 128, &bad);
	CHECK(n > 40);
	CHECK_EQ(gmem_read(dm, BUF + 0x100, d, 4), 0);
	CHECK_EQ(d[0], 0x05);
	CHECK_EQ(d[1], 0x01);

	/* SET_CONFIGURATION 1, GET_CONFIGURATION. */
	CHECK_EQ(control(5, 0x00, 9, 1, 0, 0, &bad), 0);
	CHECK_EQ(control(5, 0x80, 8, 0, 0, 1, &bad), 1);
	CHECK_EQ(gmem_read(dm, BUF + 0x100, d, 1), 0);
	CHECK_EQ(d[0], 1);
	CHECK_EQ(control(5, 0x80, 0, 0, 0, 2, &bad), 2);    /* GET_STATUS */
	CHECK_EQ(control(5, 0x21, 0x0a, 0, 0, 0, &bad), 0); /* SET_IDLE 0 */
	CHECK_EQ(control(5, 0xa1, 0x03, 0, 0, 1, &bad), 1); /* GET_PROTOCOL */
	CHECK_EQ(control(5, 0x00, 9, 7, 0, 0, &bad), -1);   /* no configuration 7 */
	CHECK(bad & TD_STALLED);
	wr(USBSTS, 0x0003);
}

/* One interrupt IN TD on endpoint 1, IOC, queued on QH. */
static void int_in(void)
{
	td(0, 1, TD_CERR3 | TD_ACTIVE | TD_IOC, PID_IN, 5, 1, 0, 8, BUF + 0x200);
	poke32(QH + 4, (uint32_t)td_addr(0));
}

static void test_report(void)
{
	uint8_t r[8];
	unsigned i, x = 320u * 0x7fff / 640, y = 100u * 0x7fff / 480;

	wr(USBSTS, 0x003f);
	int_in();
	run_frames(3);
	CHECK(td_ctrl(0) & TD_ACTIVE); /* nothing to say: NAK */
	CHECK(td_ctrl(0) & TD_NAK);
	CHECK_EQ(peek32(QH + 4), td_addr(0));
	CHECK_EQ(rd(USBSTS) & 0x01, 0);
	CHECK_EQ(dm_irq_level(dm, UHCI_GSI), 0);

	input_pointer_abs(dm, 320, 100, 641, 481, 0, INPUT_BTN_LEFT | INPUT_BTN_MIDDLE);
	memset(r, 0xee, sizeof(r));
	CHECK_EQ(gmem_write(dm, BUF + 0x200, r, 8), 0);
	run_frames(1);
	CHECK_EQ(td_ctrl(0) & (TD_ACTIVE | TD_ERRBITS), 0);
	CHECK_EQ(td_actlen(0), 6);
	CHECK_EQ(gmem_read(dm, BUF + 0x200, r, 8), 0);
	CHECK_EQ(r[0], 0x05);
	CHECK_EQ(r[1] | r[2] << 8, x);
	CHECK_EQ(r[3] | r[4] << 8, y);
	CHECK_EQ(r[5], 0);
	CHECK_EQ(r[6], 0xee); /* nothing past the report */
	CHECK_EQ(peek32(QH + 4) & 1, 1);
	CHECK(rd(USBSTS) & 0x01);
	CHECK_EQ(dm_irq_level(dm, UHCI_GSI), 1);
	wr(USBSTS, 0x0001);
	CHECK_EQ(dm_irq_level(dm, UHCI_GSI), 0);

	/* Nothing new: NAK again; then the far corner and a wheel click. */
	int_in();
	run_frames(2);
	CHECK(td_ctrl(0) & TD_ACTIVE);
	input_pointer_abs(dm, 640, 0, 641, 481, 1, 0);
	run_frames(1);
	CHECK_EQ(td_ctrl(0) & TD_ACTIVE, 0);
	CHECK_EQ(gmem_read(dm, BUF + 0x200, r, 6), 0);
	CHECK_EQ(r[0], 0);
	CHECK_EQ(r[1] | r[2] << 8, 0x7fff);
	CHECK_EQ(r[3] | r[4] << 8, 0);
	CHECK_EQ(r[5], 0xff); /* one click towards the user is -1 */
	wr(USBSTS, 0x003f);

	/* A flood of events is bounded and coalesced; the last position wins. */
	for (i = 0; i < 1000; i++)
		input_pointer_abs(dm, (int)(i % 641), 7, 641, 481, 0, 0);
	for (i = 0; i < 40; i++) {
		int_in();
		run_frames(1);
		if (td_ctrl(0) & TD_ACTIVE)
			break;
		CHECK_EQ(gmem_read(dm, BUF + 0x200, r, 6), 0);
	}
	CHECK(td_ctrl(0) & TD_ACTIVE); /* drained within 40 reports */
	CHECK_EQ(r[1] | r[2] << 8, 999u % 641 * 0x7fff / 640);
	poke32(QH + 4, 1);
	wr(USBSTS, 0x003f);
}

/* CVE-2020-14364: wLength 0xFFFF stalls the SETUP and nothing is stored. */
static void test_cve_2020_14364(void)
{
	uint8_t g[1280 + 64];
	unsigned i, bad = 0;
	uint32_t b;

	memset(g, 0x5a, sizeof(g));
	CHECK_EQ(gmem_write(dm, GUARD, g, sizeof(g)), 0);
	setup_packet(BUF, 0x80, 6, 0x0100, 0, 0xffff);
	td(0, (uint32_t)td_addr(1) | 4, TD_CERR3 | TD_ACTIVE, PID_SETUP, 5, 0, 0, 8, BUF);
	td(1, 1, TD_CERR3 | TD_ACTIVE, PID_IN, 5, 0, 1, 1280, GUARD);
	poke32(QH + 4, (uint32_t)td_addr(0));
	run_frames(2);
	CHECK(td_ctrl(0) & TD_STALLED);
	CHECK_EQ(td_ctrl(0) & TD_ACTIVE, 0);
	CHECK(td_ctrl(1) & TD_ACTIVE); /* the queue stopped at the stall */
	CHECK(rd(USBSTS) & 0x02);
	CHECK_EQ(dm_irq_level(dm, UHCI_GSI), 1);
	wr(USBSTS, 0x003f);
	/* An IN of 1280 bytes straight after: the pipe is idle, so it stalls too. */
	poke32(QH + 4, (uint32_t)td_addr(1));
	run_frames(1);
	CHECK(td_ctrl(1) & TD_STALLED);
	CHECK_EQ(gmem_read(dm, GUARD, g, sizeof(g)), 0);
	for (i = 0; i < sizeof(g); i++)
		bad += g[i] != 0x5a;
	CHECK_EQ(bad, 0);
	wr(USBSTS, 0x003f);
	/* The device still works. */
	CHECK_EQ(control(5, 0x80, 6, 0x0100, 0, 18, &b), 18);
	poke32(QH + 4, 1);
	wr(USBSTS, 0x003f);
}

static void test_loops(void)
{
	uint16_t f;

	/* A TD (no QH) that links to itself, NAKing. */
	td(0, (uint32_t)td_addr(0), TD_CERR3 | TD_ACTIVE, PID_IN, 5, 1, 0, 8, BUF + 0x200);
	fill_frame_list((uint32_t)td_addr(0));
	f = rd(FRNUM);
	run_frames(4);
	CHECK_EQ(rd(FRNUM), (f + 4) & 0x7ff);
	CHECK(td_ctrl(0) & TD_NAK);

	/* Two queue heads linking to each other, one with a NAKing TD. */
	poke32(QH, QH2 | 2);
	poke32(QH + 4, (uint32_t)td_addr(0));
	poke32(QH2, QH | 2);
	poke32(QH2 + 4, 1);
	td(0, 1, TD_CERR3 | TD_ACTIVE, PID_IN, 5, 1, 0, 8, BUF + 0x200);
	fill_frame_list(QH | 2);
	f = rd(FRNUM);
	run_frames(4);
	CHECK_EQ(rd(FRNUM), (f + 4) & 0x7ff);
	CHECK(td_ctrl(0) & TD_ACTIVE);

	/* A queue head that is its own successor and its own element. */
	poke32(QH, QH | 2);
	poke32(QH + 4, QH | 2);
	f = rd(FRNUM);
	run_frames(4);
	CHECK_EQ(rd(FRNUM), (f + 4) & 0x7ff);

	/* A TD that completes and links to itself depth first inside a QH. */
	poke32(QH, 1);
	td(0, (uint32_t)td_addr(0) | 4, TD_CERR3 | TD_ACTIVE, PID_IN, 5, 1, 0, 8, BUF + 0x200);
	poke32(QH + 4, (uint32_t)td_addr(0));
	input_pointer_abs(dm, 1, 1, 641, 481, 0, 0);
	f = rd(FRNUM);
	run_frames(3);
	CHECK_EQ(rd(FRNUM), (f + 3) & 0x7ff);
	CHECK_EQ(td_ctrl(0) & TD_ACTIVE, 0);
	CHECK_EQ(peek32(QH + 4), td_addr(0) | 4);
	CHECK_EQ(rd(USBSTS) & 0x20, 0); /* still running */
	poke32(QH + 4, 1);
	wr(USBSTS, 0x003f);
}

/*
 * FRNUM counts 11 bits but the frame list has 1024 entries: frame 0x400
 * uses entry 0 again (UHCI 2.1.4), never the 4 bytes after the list.
 */
static void test_frame_wrap(void)
{
	wr(USBCMD, 0x0040); /* stop: FRNUM is writable only while halted */
	run_frames(1);
	CHECK(rd(USBSTS) & 0x20);
	wr(FRNUM, 0x03fe);
	fill_frame_list(1);
	/* entry 0: a TD to an address nobody has, which times out */
	td(0, 1, TD_CERR3 | TD_ACTIVE, PID_IN, 9, 1, 0, 8, BUF + 0x200);
	poke32(FL, (uint32_t)td_addr(0));
	poke32(FL + 0x1000, 1); /* past the list: must not be read */
	wr(USBSTS, 0x003f);
	wr(USBCMD, 0x0041);
	run_frames(2);
	CHECK(td_ctrl(0) & TD_ACTIVE); /* frames 0x3fe and 0x3ff: entries 1022, 1023 */
	run_frames(1);
	CHECK_EQ(td_ctrl(0) & (TD_ACTIVE | TD_CRCTO), TD_CRCTO);
	CHECK_EQ(rd(FRNUM), 0x401);
	CHECK_EQ(rd(USBSTS) & 0x38, 0); /* no HSE or HCPE, running */
	fill_frame_list(QH | 2);
	wr(USBSTS, 0x003f);
}

/*
 * Idle batching (uhci.c): after 32 frames in which no TD retired, due frames
 * run 8 at a time, a register access runs them first, and new data on a
 * device goes back to a frame a millisecond.
 */
static void test_idle_batch(void)
{
	uint16_t f;

	wr(USBCMD, 0x0040);
	run_frames(1);
	poke32(QH + 4, 1);
	wr(USBSTS, 0x003f);
	f = rd(FRNUM);
	wr(USBCMD, 0x0041); /* frames at +1 .. +32 ms run one by one, all idle */
	run_frames(33);
	/* a TD to an address nobody has, queued with no register access */
	td(0, 1, TD_CERR3 | TD_ACTIVE, PID_IN, 9, 1, 0, 8, BUF + 0x200);
	poke32(QH + 4, (uint32_t)td_addr(0));
	run_frames(1);
	CHECK(td_ctrl(0) & TD_ACTIVE); /* frames 33 on run as a batch at +40 ms */
	/* a register read runs the frames due first */
	CHECK_EQ(rd(FRNUM), (f + 34) & 0x7ff);
	CHECK_EQ(td_ctrl(0) & (TD_ACTIVE | TD_CRCTO), TD_CRCTO);

	/* the tablet NAKs while idle; an event has its report out within 1 ms */
	int_in();
	run_frames(40);
	CHECK(td_ctrl(0) & TD_NAK);
	input_pointer_abs(dm, 10, 10, 641, 481, 0, 0);
	run_frames(1);
	CHECK_EQ(td_ctrl(0) & TD_ACTIVE, 0);
	CHECK_EQ(td_actlen(0), 6);
	poke32(QH + 4, 1);
	wr(USBSTS, 0x003f);
}

/* MaxLen above 1280 is a process error: halt and interrupt (UHCI 2.1.2). */
static void test_bad_maxlen(void)
{
	td(0, 1, TD_CERR3 | TD_ACTIVE, PID_IN, 5, 1, 0, 1281, BUF);
	poke32(QH, 1);
	poke32(QH + 4, (uint32_t)td_addr(0));
	run_frames(2);
	CHECK_EQ(rd(USBSTS) & 0x30, 0x30); /* HCPE, halted */
	CHECK_EQ(rd(USBCMD) & 1, 0);
	CHECK(td_ctrl(0) & TD_ACTIVE);
	CHECK_EQ(dm_irq_level(dm, UHCI_GSI), 1);
	wr(USBSTS, 0x0010);
	CHECK_EQ(dm_irq_level(dm, UHCI_GSI), 0);
	poke32(QH + 4, 1);
}

/*
 * Remote wakeup: with the feature on, a suspended port and the controller in
 * global suspend, a pointer event shows as resume detect (UHCI 2.1.2, 2.1.7).
 */
static void test_remote_wakeup(void)
{
	uint32_t bad;

	wr(USBCMD, 0x0041);
	CHECK_EQ(control(5, 0x00, 3, 1, 0, 0, &bad), 0); /* SET_FEATURE remote wakeup */
	CHECK_EQ(control(5, 0x80, 0, 0, 0, 2, &bad), 2);
	CHECK_EQ(peek32(BUF + 0x100) & 0xffff, 0x0002);
	wr(USBCMD, 0x0000);
	wr(USBSTS, 0x003f);
	wr(PORTSC1, 0x1004); /* suspend */
	wr(USBCMD, 0x0008);  /* EGSM */
	wr(USBINTR, 0x0002);
	CHECK_EQ(rd(USBSTS) & 0x04, 0);
	CHECK_EQ(dm_irq_level(dm, UHCI_GSI), 0);
	input_pointer_abs(dm, 5, 5, 641, 481, 0, 0);
	CHECK(rd(PORTSC1) & 0x0040);
	CHECK(rd(USBSTS) & 0x04);
	CHECK(rd(USBCMD) & 0x10); /* FGR */
	CHECK_EQ(dm_irq_level(dm, UHCI_GSI), 1);
	wr(USBSTS, 0x0004);
	CHECK_EQ(dm_irq_level(dm, UHCI_GSI), 0);
	wr(USBCMD, 0x0000);
	wr(PORTSC1, 0x0004);
	CHECK_EQ(rd(PORTSC1) & 0x1040, 0);
}

/* GRESET resets the bus too: the tablet is back at address 0, unconfigured. */
static void test_global_reset(void)
{
	uint32_t bad;

	wr(USBCMD, 0x0004);
	CHECK_EQ(rd(USBCMD), 0x0004);
	CHECK_EQ(rd(USBSTS), 0x20);
	wr(USBCMD, 0x0000);
	start();
	CHECK_EQ(control(5, 0x80, 6, 0x0100, 0, 18, &bad), -1);
	CHECK(bad & TD_CRCTO);
	CHECK_EQ(control(0, 0x80, 6, 0x0100, 0, 18, &bad), 18);
	wr(USBCMD, 0x0000);
}

int main(void)
{
	struct dev *tab;

	CHECK_EQ(dm_create_standalone(RAM_SIZE, &dm), 0);
	CHECK(dev_create(dm, "usb-tablet", NULL, NULL) < 0); /* no controller yet */
	CHECK_EQ(dev_create(dm, "i440fx", NULL, NULL), 0);
	CHECK_EQ(dev_create(dm, "piix3", NULL, NULL), 0);
	CHECK_EQ(dev_create(dm, "piix3-usb-uhci", NULL, NULL), 0);
	CHECK_EQ(dev_create(dm, "usb-tablet", NULL, &tab), 0);
	CHECK(!strcmp(input_pointer_active(dm), "usb-tablet"));
	CHECK(input_pointer_absolute(dm));
	bus = pci_bus_of(dm);
	pci_bus_config_write(bus, 0, PCI_DEVFN(1, 0), 0x60, UHCI_GSI, 1); /* PIRQA */
	pci_bus_config_write(bus, 0, UHCI_DEVFN, 0x20, UHCI_IO | 1, 4);
	pci_bus_config_write(bus, 0, UHCI_DEVFN, PCI_COMMAND, 0x5, 2);

	test_pci();
	test_regs();
	test_enumerate();
	test_report();
	test_cve_2020_14364();
	test_loops();
	test_frame_wrap();
	test_idle_batch();
	test_bad_maxlen();
	test_remote_wakeup();
	test_global_reset();
	dm_destroy(dm);
	return tap_done();
}
