// SPDX-License-Identifier: MIT
/*
 * uhci.c - the PIIX3 USB host controller (8086:7020, function 00:01.2;
 * Intel 82371SB datasheet section 2.6 and the Universal Host Controller
 * Interface design guide rev 1.1), device type "piix3-usb-uhci", no options.
 *
 * Emulated:
 *   - PCI: class 0C:03:00, interrupt pin D (routed by the PIIX3 links),
 *     SBRN at 0x60 (0x10: USB 1.0), USBLEGSUP at 0xC0 (default 0x2000;
 *     bits 15 and 11:8 write-1-to-clear, 14, 12 and 6 read-only; stored
 *     only: no SMI, and the PIRQ enable bit does not gate the interrupt);
 *   - BAR4, 32 bytes of I/O (UHCI 2.1): USBCMD (RS, HCRESET, GRESET, EGSM,
 *     FGR, SWDBG, CF, MAXP), USBSTS (write-1-to-clear; HCHalted set while
 *     stopped), USBINTR, FRNUM (written only while halted), FLBASEADD,
 *     SOFMOD, and two PORTSC registers (connect and its change bit, enable
 *     and its change bit, line status, resume detect, reset, suspend);
 *   - a 1 ms frame on the virtual clock while RS is set and the controller
 *     is not halted.  Each frame reads the frame list entry at FLBASEADD +
 *     (FRNUM mod 1024) * 4 and walks its queue heads and TDs (UHCI 3.4): TDs run
 *     against the device with the TD's address on an enabled root port;
 *     ActLen and the status bits are written back, a queue head's element
 *     pointer advances past each TD that completes, depth first when the TD
 *     link asks for it and to the next queue head otherwise; IOC and short
 *     packets raise USBINT, errors USBERRINT, per USBINTR.
 *
 * Bounds (research/reliability.md, CVE-2017-6505 class): at most
 * UHCI_FRAME_STEPS link pointers and UHCI_FRAME_BYTES bytes of data per
 * frame; a link to the element just processed, or a queue head met again
 * without a TD completing since, ends the frame.  Descriptors are read once
 * into locals and all guest memory goes through pci_dma_* (dm/gmem.h
 * checked accessors, bus mastering required).
 *
 * Simplified: no retries (a timeout, stall or babble retires the TD with
 * C_ERR 0), the data toggle is the TD's own (the token is never written),
 * queue heads nested through element pointers are followed without coming
 * back to the outer queue's horizontal link in the same frame, isochronous
 * TDs run like others, software debug single-step is not emulated, and
 * only full-speed devices exist (LSDA stays 0).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "device.h"
#include "dm.h"
#include "gmem.h"
#include "log.h"
#include "pci/pci.h"
#include "usb/usb.h"

#define MOD "uhci"

#define UHCI_DEVFN PCI_DEVFN(1, 2)
#define UHCI_IO_SIZE 32
#define UHCI_NR_PORTS 2

/* PCI configuration (82371SB 2.6). */
#define UHCI_SBRN 0x60
#define UHCI_LEGSUP 0xc0
#define LEGSUP_DEFAULT 0x2000
#define LEGSUP_W1C 0x8f00
#define LEGSUP_RO 0x5040

/* I/O registers (UHCI 2.1). */
#define REG_USBCMD 0x00
#define REG_USBSTS 0x02
#define REG_USBINTR 0x04
#define REG_FRNUM 0x06
#define REG_FLBASEADD 0x08 /* 32 bits: 0x08 and 0x0a */
#define REG_SOFMOD 0x0c
#define REG_PORTSC1 0x10

#define CMD_RS 0x0001
#define CMD_HCRESET 0x0002
#define CMD_GRESET 0x0004
#define CMD_EGSM 0x0008
#define CMD_FGR 0x0010
#define CMD_MASK 0x00ff

#define STS_USBINT 0x0001
#define STS_ERRINT 0x0002
#define STS_RD 0x0004
#define STS_HSE 0x0008
#define STS_HCPE 0x0010
#define STS_HALTED 0x0020
#define STS_MASK 0x003f

#define INTR_TOCRC 0x0001
#define INTR_RESUME 0x0002
#define INTR_IOC 0x0004
#define INTR_SP 0x0008
#define INTR_MASK 0x000f

#define FL_INDEX_MASK 0x3ff /* frame list entries: 1024 */
#define FRNUM_MASK 0x07ff
#define FLBASE_MASK 0xfffff000u
#define SOFMOD_DEFAULT 0x40

#define PORT_CCS 0x0001
#define PORT_CSC 0x0002
#define PORT_PED 0x0004
#define PORT_PEDC 0x0008
#define PORT_LS_DPLUS 0x0010
#define PORT_RD 0x0040
#define PORT_RSVD1 0x0080 /* reads 1 */
#define PORT_PR 0x0200
#define PORT_SUSP 0x1000
#define PORT_W1C (PORT_CSC | PORT_PEDC)
#define PORT_RW (PORT_PED | PORT_RD | PORT_PR | PORT_SUSP)

/* Link pointers (UHCI 3.1-3.3). */
#define LINK_T 0x1
#define LINK_Q 0x2
#define LINK_VF 0x4
#define LINK_ADDR 0xfffffff0u

/* TD control and status (UHCI 3.2.2). */
#define TD_ACTLEN 0x000007ffu
#define TD_BITSTUFF (1u << 17)
#define TD_CRCTO (1u << 18)
#define TD_NAK (1u << 19)
#define TD_BABBLE (1u << 20)
#define TD_DBUF (1u << 21)
#define TD_STALLED (1u << 22)
#define TD_ACTIVE (1u << 23)
#define TD_IOC (1u << 24)
#define TD_CERR (3u << 27)
#define TD_SPD (1u << 29)
#define TD_STATUS (TD_BITSTUFF | TD_CRCTO | TD_NAK | TD_BABBLE | TD_DBUF | TD_STALLED | TD_ACTIVE)

/* TD token (UHCI 3.2.3). */
#define TOK_PID(t) ((uint8_t)((t)&0xff))
#define TOK_ADDR(t) ((uint8_t)(((t) >> 8) & 0x7f))
#define TOK_EP(t) ((uint8_t)(((t) >> 15) & 0xf))
#define TOK_MAXLEN(t) (((t) >> 21) & 0x7ff) /* n - 1; 0x7ff: zero bytes */
#define MAXLEN_NULL 0x7ff
#define MAXLEN_LIMIT 0x4ff /* 1280 bytes; larger values are invalid */

#define UHCI_FRAME_STEPS 256  /* link pointers followed per frame */
#define UHCI_FRAME_BYTES 1280 /* data bytes per frame (12 Mb/s, 1 ms, with margin) */
#define UHCI_QH_SEEN 32	      /* queue heads remembered for loop detection */
/*
 * Idle batching: after UHCI_IDLE_FRAMES frames in which no TD retired, the
 * timer runs UHCI_IDLE_BATCH due frames at a time (a NAKing interrupt
 * endpoint polled every millisecond cost the dm 4% of a core); a register
 * access runs the frames due first, so FRNUM and USBSTS read as in real
 * time, and a device with new data (usb_data_ready()) or a TD retiring
 * goes back to one frame a millisecond.
 */
#define UHCI_IDLE_FRAMES 32
#define UHCI_IDLE_BATCH 8
#define UHCI_CATCH_UP 64 /* frames one catch-up may run; beyond, go on from now */

struct uhci_port {
	uint16_t sc; /* PORTSC bits other than CCS/LS, which follow dev */
	struct usb_device *dev;
};

struct uhci {
	struct dm *dm;
	struct pci_func pci;
	struct io_region io;
	struct dm_timer frame_timer;
	uint64_t frame_at; /* when the next frame is due */
	unsigned idle;	   /* frames since a TD last retired (saturates) */
	bool progress;	   /* the frame being run retired a TD */
	bool timer_inited;

	uint16_t cmd, sts, intr, frnum;
	uint32_t flbase;
	uint8_t sofmod;
	bool ioc_pending, sp_pending; /* why USBINT is set */
	struct uhci_port port[UHCI_NR_PORTS];
};

/* What one TD did to the walk. */
enum td_result {
	TD_NEXT,      /* completed: advance the queue */
	TD_NEXT_QH,   /* not completed (NAK, inactive, error, short with SPD): next queue */
	TD_END_FRAME, /* out of budget: try again next frame */
	TD_HALT,      /* controller error: stop */
};

/* ---- interrupt and timer ------------------------------------------------------------------- */

static void uhci_update_irq(struct uhci *s)
{
	bool level = ((s->sts & STS_USBINT) && ((s->ioc_pending && (s->intr & INTR_IOC)) ||
						(s->sp_pending && (s->intr & INTR_SP)))) ||
		     ((s->sts & STS_ERRINT) && (s->intr & INTR_TOCRC)) ||
		     ((s->sts & STS_RD) && (s->intr & INTR_RESUME)) ||
		     (s->sts & (STS_HSE | STS_HCPE));

	pci_set_irq(&s->pci, level);
}

static bool uhci_running(const struct uhci *s)
{
	return (s->cmd & CMD_RS) && !(s->sts & STS_HALTED);
}

/* Arm the timer for the next due frame, or a batch of them when idle. */
static void uhci_rearm(struct uhci *s)
{
	uint64_t when = s->frame_at;

	if (s->idle >= UHCI_IDLE_FRAMES)
		when += (UHCI_IDLE_BATCH - 1) * NS_PER_MS;
	timer_mod(&s->frame_timer, when);
}

static void uhci_arm(struct uhci *s, uint64_t when)
{
	s->frame_at = when;
	s->idle = 0;
	uhci_rearm(s);
}

static void uhci_update_timer(struct uhci *s)
{
	if (!s->timer_inited)
		return;
	if (!uhci_running(s))
		timer_del(&s->frame_timer);
	else if (!timer_pending(&s->frame_timer))
		uhci_arm(s, clock_ns(s->dm->clock) + NS_PER_MS);
}

/* The schedule cannot go on (UHCI 2.1.2: HSE, HCPE): stop and interrupt. */
static void uhci_halt_error(struct uhci *s, uint16_t why)
{
	s->cmd &= (uint16_t)~CMD_RS;
	s->sts |= why | STS_HALTED;
	uhci_update_irq(s);
}

/* ---- ports --------------------------------------------------------------------------------- */

static uint16_t port_read(const struct uhci_port *p)
{
	uint16_t v = p->sc | PORT_RSVD1;

	if (p->dev) {
		v |= PORT_CCS;
		if (!(p->sc & PORT_PR))
			v |= PORT_LS_DPLUS; /* full-speed idle (J) */
	}
	return v;
}

static void port_write(struct uhci *s, struct uhci_port *p, uint16_t val, uint16_t mask)
{
	uint16_t old = p->sc;
	uint16_t sc = (uint16_t)((old & ~(mask & PORT_RW)) | (val & mask & PORT_RW));

	sc &= (uint16_t) ~(val & mask & PORT_W1C);
	sc |= old & PORT_W1C & ~(val & mask);
	if (!p->dev)
		sc &= (uint16_t)~PORT_PED; /* only a connected port can be enabled */
	if ((sc & PORT_PR) && !(old & PORT_PR)) {
		/* Reset signalling disables the port; the device sees a bus reset. */
		sc &= (uint16_t)~PORT_PED;
		if (p->dev)
			usb_device_reset(p->dev);
	}
	p->sc = sc;
}

/* HCRESET (UHCI 2.1.1): ports disabled; a connected device shows a change. */
static void port_hc_reset(struct uhci_port *p)
{
	p->sc = p->dev ? PORT_CSC : 0;
}

/* The device that answers `addr`: on an enabled, active port. */
static struct usb_device *uhci_find_dev(struct uhci *s, uint8_t addr)
{
	unsigned i;

	for (i = 0; i < UHCI_NR_PORTS; i++) {
		struct uhci_port *p = &s->port[i];

		if (p->dev && (p->sc & PORT_PED) && !(p->sc & (PORT_PR | PORT_SUSP)) &&
		    p->dev->addr == addr)
			return p->dev;
	}
	return NULL;
}

/* ---- schedule ------------------------------------------------------------------------------ */

/* Status dword after a TD retired with `bits` and len bytes moved. */
static uint32_t td_retire(uint32_t ctrl, uint32_t bits, unsigned len)
{
	ctrl &= ~(TD_STATUS | TD_ACTLEN);
	if (bits)
		ctrl &= ~TD_CERR;
	return ctrl | bits | ((len - 1) & TD_ACTLEN);
}

/*
 * Run the TD at addr (read once into td[]).  *bytes counts the frame's data
 * budget.
 */
static enum td_result uhci_run_td(struct uhci *s, uint32_t addr, const uint32_t td[4],
				  unsigned *bytes)
{
	uint8_t buf[MAXLEN_LIMIT + 1];
	uint32_t ctrl = td[1], token = td[2], maxf = TOK_MAXLEN(token);
	unsigned maxlen = maxf == MAXLEN_NULL ? 0 : maxf + 1;
	uint8_t pid = TOK_PID(token);
	struct usb_device *dev;
	bool short_pkt = false;
	int n;

	if (!(ctrl & TD_ACTIVE))
		return TD_NEXT_QH;
	if (maxf != MAXLEN_NULL && maxf > MAXLEN_LIMIT) {
		dm_guest_err(MOD, "TD 0x%x: MaxLen 0x%x is invalid", addr, maxf);
		uhci_halt_error(s, STS_HCPE);
		return TD_HALT;
	}
	if (pid != USB_PID_SETUP && pid != USB_PID_IN && pid != USB_PID_OUT) {
		dm_guest_err(MOD, "TD 0x%x: PID 0x%02x is invalid", addr, pid);
		uhci_halt_error(s, STS_HCPE);
		return TD_HALT;
	}
	if (*bytes + maxlen > UHCI_FRAME_BYTES)
		return TD_END_FRAME;
	*bytes += maxlen ? maxlen : 1;

	if (pid != USB_PID_IN && maxlen && pci_dma_read(&s->pci, td[3], buf, maxlen)) {
		uhci_halt_error(s, STS_HSE);
		return TD_HALT;
	}
	dev = uhci_find_dev(s, TOK_ADDR(token));
	n = dev ? usb_handle_packet(dev, pid, TOK_EP(token), buf, maxlen) : USB_RET_NODEV;

	if (n == USB_RET_NAK) {
		ctrl |= TD_NAK;
		if (gmem_write_u32(s->dm, addr + 4, ctrl)) {
			uhci_halt_error(s, STS_HSE);
			return TD_HALT;
		}
		return TD_NEXT_QH;
	}
	if (n >= 0 && (unsigned)n > maxlen)
		n = USB_RET_BABBLE;
	if (n >= 0) {
		if (pid == USB_PID_IN && n && pci_dma_write(&s->pci, td[3], buf, (size_t)n)) {
			uhci_halt_error(s, STS_HSE);
			return TD_HALT;
		}
		short_pkt = pid == USB_PID_IN && (unsigned)n < maxlen;
		ctrl = td_retire(ctrl, 0, (unsigned)n);
		s->progress = true;
	} else {
		uint32_t bits = n == USB_RET_STALL    ? TD_STALLED
				: n == USB_RET_BABBLE ? TD_BABBLE | TD_STALLED
						      : TD_CRCTO;

		ctrl = td_retire(ctrl, bits, 0);
		s->progress = true;
		s->sts |= STS_ERRINT;
	}
	if (gmem_write_u32(s->dm, addr + 4, ctrl)) {
		uhci_halt_error(s, STS_HSE);
		return TD_HALT;
	}
	if (ctrl & TD_IOC) {
		s->sts |= STS_USBINT;
		s->ioc_pending = true;
	}
	if (n < 0)
		return TD_NEXT_QH;
	if (short_pkt && (ctrl & TD_SPD)) {
		/* UHCI 3.2.2: the queue stays on this TD for software to fix up. */
		s->sts |= STS_USBINT;
		s->sp_pending = true;
		return TD_NEXT_QH;
	}
	return TD_NEXT;
}

static bool qh_seen(uint32_t *seen, unsigned *nseen, uint32_t addr)
{
	unsigned i;

	for (i = 0; i < *nseen; i++)
		if (seen[i] == addr)
			return true;
	if (*nseen < UHCI_QH_SEEN)
		seen[(*nseen)++] = addr;
	return false;
}

static void uhci_process_frame(struct uhci *s)
{
	uint32_t seen[UHCI_QH_SEEN], link, qh_addr = 0, qh_head = 0;
	unsigned steps, nseen = 0, bytes = 0, done_since = 0;
	bool in_qh = false;

	/* FRNUM counts 11 bits; the frame list has 1024 entries (UHCI 2.1.4) */
	if (pci_dma_read(&s->pci, s->flbase + (uint32_t)(s->frnum & FL_INDEX_MASK) * 4, &link,
			 sizeof(link))) {
		if (pci_get_word(&s->pci, PCI_COMMAND) & PCI_COMMAND_MASTER)
			uhci_halt_error(s, STS_HSE);
		return;
	}
	for (steps = 0; !(link & LINK_T) && steps < UHCI_FRAME_STEPS; steps++) {
		uint32_t addr = link & LINK_ADDR, td[4];
		enum td_result r;

		if (link & LINK_Q) {
			uint32_t qh[2];

			if (qh_seen(seen, &nseen, addr)) {
				/* Round the ring again only if the last one got something done. */
				if (!done_since)
					break;
				done_since = 0;
				nseen = 0;
				qh_seen(seen, &nseen, addr);
			}
			if (pci_dma_read(&s->pci, addr, qh, sizeof(qh))) {
				uhci_halt_error(s, STS_HSE);
				return;
			}
			qh_addr = addr;
			qh_head = qh[0];
			in_qh = !(qh[1] & LINK_T);
			link = in_qh ? qh[1] : qh[0];
			if ((link & LINK_ADDR) == addr && !(link & LINK_T))
				break; /* a queue head that is its own successor */
			continue;
		}
		if (pci_dma_read(&s->pci, addr, td, sizeof(td))) {
			uhci_halt_error(s, STS_HSE);
			return;
		}
		r = uhci_run_td(s, addr, td, &bytes);
		if (r == TD_HALT || r == TD_END_FRAME)
			break;
		if (r == TD_NEXT)
			done_since++;
		if (!in_qh) {
			link = td[0];
		} else if (r == TD_NEXT) {
			if (gmem_write_u32(s->dm, qh_addr + 4, td[0])) {
				uhci_halt_error(s, STS_HSE);
				return;
			}
			if ((td[0] & LINK_VF) && !(td[0] & LINK_T)) {
				link = td[0];
			} else {
				link = qh_head;
				in_qh = false;
			}
		} else {
			link = qh_head;
			in_qh = false;
		}
		if ((link & LINK_ADDR) == addr && !(link & LINK_T))
			break; /* a TD that links to itself */
	}
}

/* Run every frame due by now (at most UHCI_CATCH_UP), counting idle ones. */
static void uhci_run_due(struct uhci *s, uint64_t now)
{
	unsigned n;

	for (n = 0; n < UHCI_CATCH_UP && s->frame_at <= now && uhci_running(s); n++) {
		s->progress = false;
		uhci_process_frame(s);
		s->frnum = (s->frnum + 1) & FRNUM_MASK;
		s->frame_at += NS_PER_MS;
		if (s->progress)
			s->idle = 0;
		else if (s->idle < UHCI_IDLE_FRAMES)
			s->idle++;
	}
	/* After a long stall of the clock, go on from now rather than catch up. */
	if (s->frame_at <= now)
		s->frame_at = now + NS_PER_MS;
	uhci_update_irq(s);
}

static void uhci_frame(void *opaque)
{
	struct uhci *s = opaque;

	if (!uhci_running(s))
		return;
	uhci_run_due(s, clock_ns(s->dm->clock));
	if (uhci_running(s))
		uhci_rearm(s);
}

/* Before a register access: the frames due by now have run. */
static void uhci_catch_up(struct uhci *s)
{
	if (!s->timer_inited || !uhci_running(s))
		return;
	if (s->frame_at <= clock_ns(s->dm->clock))
		uhci_frame(s);
}

/* ---- registers ----------------------------------------------------------------------------- */

static void uhci_reset_regs(struct uhci *s)
{
	unsigned i;

	s->cmd = 0;
	s->sts = STS_HALTED;
	s->intr = 0;
	s->frnum = 0;
	s->flbase = 0;
	s->sofmod = SOFMOD_DEFAULT;
	s->ioc_pending = false;
	s->sp_pending = false;
	for (i = 0; i < UHCI_NR_PORTS; i++)
		port_hc_reset(&s->port[i]);
	uhci_update_timer(s);
	uhci_update_irq(s);
}

static void uhci_write_cmd(struct uhci *s, uint16_t val)
{
	uint16_t old = s->cmd;
	unsigned i;

	if (val & CMD_GRESET) {
		/* Global reset (UHCI 2.1.1): the bus and the controller; the bit stays. */
		for (i = 0; i < UHCI_NR_PORTS; i++)
			if (s->port[i].dev)
				usb_device_reset(s->port[i].dev);
		uhci_reset_regs(s);
		s->cmd = CMD_GRESET;
		return;
	}
	if (val & CMD_HCRESET) {
		/* Completes at once: the bit reads back 0. */
		uhci_reset_regs(s);
		return;
	}
	s->cmd = val & CMD_MASK;
	if ((s->cmd & CMD_RS) && !(old & CMD_RS))
		s->sts &= (uint16_t)~STS_HALTED;
	else if (!(s->cmd & CMD_RS))
		s->sts |= STS_HALTED; /* frames run whole: the stop is immediate */
	uhci_update_timer(s);
	uhci_update_irq(s);
}

static uint16_t uhci_read16(struct uhci *s, unsigned reg)
{
	switch (reg) {
	case REG_USBCMD:
		return s->cmd;
	case REG_USBSTS:
		return s->sts;
	case REG_USBINTR:
		return s->intr;
	case REG_FRNUM:
		return s->frnum;
	case REG_FLBASEADD:
	case REG_FLBASEADD + 2:
		return (uint16_t)(s->flbase >> (reg - REG_FLBASEADD) * 8);
	case REG_SOFMOD:
		return s->sofmod;
	case REG_PORTSC1:
	case REG_PORTSC1 + 2:
		return port_read(&s->port[(reg - REG_PORTSC1) / 2]);
	}
	return 0xffff;
}

/* A write of the bytes in mask (0x00ff, 0xff00 or 0xffff) of register reg. */
static void uhci_write16(struct uhci *s, unsigned reg, uint16_t val, uint16_t mask)
{
	switch (reg) {
	case REG_USBCMD:
		uhci_write_cmd(s, (uint16_t)((s->cmd & ~mask) | (val & mask)));
		break;
	case REG_USBSTS:
		s->sts &= (uint16_t) ~(val & mask & STS_MASK);
		if (!(s->sts & STS_USBINT))
			s->ioc_pending = s->sp_pending = false;
		/* HCHalted follows RS: a stopped controller cannot be un-halted here. */
		if (!(s->cmd & CMD_RS))
			s->sts |= STS_HALTED;
		uhci_update_irq(s);
		break;
	case REG_USBINTR:
		s->intr = (uint16_t)(((s->intr & ~mask) | (val & mask)) & INTR_MASK);
		uhci_update_irq(s);
		break;
	case REG_FRNUM:
		if (s->sts & STS_HALTED)
			s->frnum = (uint16_t)(((s->frnum & ~mask) | (val & mask)) & FRNUM_MASK);
		break;
	case REG_FLBASEADD:
	case REG_FLBASEADD + 2: {
		unsigned sh = (reg - REG_FLBASEADD) * 8; /* the low or the high half */

		s->flbase =
			((s->flbase & ~((uint32_t)mask << sh)) | ((uint32_t)(val & mask) << sh)) &
			FLBASE_MASK;
		break;
	}
	case REG_SOFMOD:
		if (mask & 0xff)
			s->sofmod = val & 0x7f;
		break;
	case REG_PORTSC1:
	case REG_PORTSC1 + 2:
		port_write(s, &s->port[(reg - REG_PORTSC1) / 2], val, mask);
		break;
	}
}

static uint64_t uhci_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct uhci *s = opaque;
	uint16_t v;

	uhci_catch_up(s);
	v = uhci_read16(s, off & ~1u);

	if (size == 1)
		return (off & 1) ? v >> 8 : v & 0xff;
	return v;
}

static void uhci_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct uhci *s = opaque;
	uint16_t mask = 0xffff;

	uhci_catch_up(s);
	if (size == 1) {
		mask = (off & 1) ? 0xff00 : 0x00ff;
		val = (off & 1) ? val << 8 : val & 0xff;
	}
	uhci_write16(s, off & ~1u, (uint16_t)val, mask);
}

static const struct io_ops uhci_io_ops = {
	.read = uhci_io_read,
	.write = uhci_io_write,
	.min_size = 1,
	.max_size = 2,
};

/* ---- attach -------------------------------------------------------------------------------- */

static void uhci_wakeup(void *host, struct usb_device *ud)
{
	struct uhci *s = host;
	unsigned i;

	for (i = 0; i < UHCI_NR_PORTS; i++) {
		struct uhci_port *p = &s->port[i];

		if (p->dev != ud || !(p->sc & PORT_SUSP))
			continue;
		/* UHCI 2.1.7: resume signalling seen on a suspended port. */
		p->sc |= PORT_RD;
		if (s->cmd & CMD_EGSM) {
			s->cmd |= CMD_FGR;
			s->sts |= STS_RD;
			uhci_update_irq(s);
		}
	}
}

/* New data on a device: back to a frame a millisecond from the next one. */
static void uhci_data_ready(void *host, struct usb_device *ud)
{
	struct uhci *s = host;

	(void)ud;
	if (!s->timer_inited || !uhci_running(s) || s->idle < UHCI_IDLE_FRAMES)
		return;
	uhci_catch_up(s);
	s->idle = 0;
	if (uhci_running(s))
		uhci_rearm(s);
}

static const struct usb_host_ops uhci_host_ops = {
	.wakeup = uhci_wakeup,
	.data_ready = uhci_data_ready,
};

int uhci_attach(struct dm *dm, struct usb_device *ud, int port)
{
	struct dev *d = dev_find(dm, "piix3-usb-uhci");
	struct uhci *s;
	int i;

	if (!d)
		return -ENODEV;
	s = d->state;
	if (port >= UHCI_NR_PORTS)
		return -EINVAL;
	for (i = 0; port < 0 && i < UHCI_NR_PORTS; i++)
		if (!s->port[i].dev)
			port = i;
	if (port < 0 || s->port[port].dev)
		return -EBUSY;
	s->port[port].dev = ud;
	s->port[port].sc |= PORT_CSC;
	ud->host_ops = &uhci_host_ops;
	ud->host = s;
	usb_device_reset(ud);
	/* A connect during global suspend is a resume event (UHCI 2.1.2). */
	if (s->cmd & CMD_EGSM) {
		s->sts |= STS_RD;
		uhci_update_irq(s);
	}
	return 0;
}

void uhci_detach(struct usb_device *ud)
{
	struct uhci *s = ud->host;
	unsigned i;

	if (!s)
		return;
	for (i = 0; i < UHCI_NR_PORTS; i++) {
		struct uhci_port *p = &s->port[i];

		if (p->dev != ud)
			continue;
		p->dev = NULL;
		p->sc |= PORT_CSC;
		if (p->sc & PORT_PED)
			p->sc |= PORT_PEDC;
		p->sc &= (uint16_t) ~(PORT_PED | PORT_SUSP | PORT_RD);
	}
	ud->host_ops = NULL;
	ud->host = NULL;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static void uhci_reset(struct dev *d, enum dev_reset kind)
{
	struct uhci *s = d->state;

	pci_func_reset(&s->pci);
	uhci_reset_regs(s);
}

static int uhci_create(struct dev *d, const struct opts *o)
{
	struct uhci *s = d->state;
	struct pci_bus *bus = pci_bus_of(d->dm);
	int err;

	s->dm = d->dm;
	if (!bus) {
		dm_err(MOD, "no PCI bus: create the i440fx host bridge first");
		return -ENODEV;
	}
	err = pci_func_init(&s->pci, bus, UHCI_DEVFN, d->type->name, NULL, s);
	if (err) {
		dm_err(MOD, "devfn 00:01.2: %d", err);
		return err;
	}
	pci_set_ids(&s->pci, 0x8086, 0x7020, 0x01, 0x0c0300);
	pci_set_byte(&s->pci, PCI_INTERRUPT_PIN, 4); /* INTD# */
	pci_set_byte(&s->pci, UHCI_SBRN, 0x10);
	pci_set_word(&s->pci, UHCI_LEGSUP, LEGSUP_DEFAULT);
	pci_set_wmask(&s->pci, UHCI_LEGSUP, 2, 0xffff & ~(LEGSUP_RO | LEGSUP_W1C));
	pci_set_w1cmask(&s->pci, UHCI_LEGSUP, 2, LEGSUP_W1C);
	io_region_init(&s->io, &uhci_io_ops, s, "uhci", UHCI_IO_SIZE);
	err = pci_bar_init(&s->pci, 4, PCI_BAR_IO, UHCI_IO_SIZE, &s->io);
	if (err)
		return err;
	pci_func_ready(&s->pci);
	timer_init(&s->frame_timer, d->dm->clock, uhci_frame, s);
	s->timer_inited = true;
	uhci_reset(d, DEV_RESET_COLD);
	return 0;
}

static void uhci_destroy(struct dev *d)
{
	struct uhci *s = d->state;
	unsigned i;

	if (s->timer_inited)
		timer_del(&s->frame_timer);
	for (i = 0; i < UHCI_NR_PORTS; i++)
		if (s->port[i].dev)
			uhci_detach(s->port[i].dev);
	if (s->pci.registered)
		pci_func_exit(&s->pci);
}

static const struct dev_type uhci_type = {
	.name = "piix3-usb-uhci",
	.state_size = sizeof(struct uhci),
	.create = uhci_create,
	.reset = uhci_reset,
	.destroy = uhci_destroy,
};
DM_DEVICE(uhci_type);
