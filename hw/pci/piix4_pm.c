// SPDX-License-Identifier: MIT
/*
 * piix4_pm.c - Intel 82371AB (PIIX4) power management function at 00:01.3,
 * the ACPI hardware of the "pc" machine.
 *
 * Emulated (82371AB datasheet, power management function; ACPI 6.4 chapter 4,
 * fixed hardware registers):
 *   - identification 8086:7113 revision 3, class 06:80:00, INTA# pin, and
 *     the power-on register values QEMU shows (SMBus base 0xB100, enabled);
 *   - PMBA (0x40, bits 15:6) locates the 64-byte PM I/O block and PMREGMISC
 *     (0x80) bit 0 enables it, as SeaBIOS programs them (base 0x600 or
 *     0xB000).  In the block:
 *       +0 PM1a_STS (write 1 to clear): TMR_STS, GBL_STS, PWRBTN_STS, RTC_STS,
 *          WAK_STS; +2 PM1a_EN;
 *       +4 PM1a_CNT: SCI_EN, BM_RLD, GBL_RLS, SLP_TYP; SLP_EN (write-only)
 *          with SLP_TYP 0 (soft off, PIIX4 encoding) powers the guest off,
 *          other sleep types are logged and ignored (no S1-S4);
 *       +8 PM_TMR: 24-bit count at 3.579545 MHz of the dm's virtual clock;
 *          TMR_STS is set each time bit 23 changes;
 *     other offsets read all-ones;
 *   - GPE0_STS/GPE0_EN at 0xAFE0 (2 + 2 bytes), the block QEMU's DSDT uses;
 *   - APM control/status ports 0xB2/0xB3: writing ACPI_ENABLE (0xF1) or
 *     ACPI_DISABLE (0xF0) sets or clears SCI_EN, the hand-over that firmware
 *     SMM code does on real boards (FADT SMI_CMD = 0xB2);
 *   - SCI on ISA IRQ 9, level-triggered, asserted while an enabled PM1 or
 *     GPE0 event is pending.  SCI_EN does not gate it: with SCI_EN clear a
 *     real board raises SMI instead, and there is no SMM here; QEMU does the
 *     same, and it keeps SCIs working whether or not the FADT advertises
 *     SMI_CMD (an ACPI-only FADT means the OS never sets SCI_EN itself);
 *   - the power button: dm->powerdown sets PWRBTN_STS.
 * Not emulated: SMBus (the base register 0x90 and host config 0xD2 are only
 * stored), SMI and SMM (DEVACTB reports APMC SMI as already set up, so
 * firmware does not try to relocate SMBASE), device monitors and traps, throttling (PROCCNT), GPIO, CPU
 * and PCI hot-plug registers.
 */
#include <errno.h>
#include <stdint.h>

#include "clock.h"
#include "device.h"
#include "dm.h"
#include "irq.h"
#include "log.h"
#include "pci/pci.h"

#define MOD "piix4-pm"

#define PM_DEVFN PCI_DEVFN(1, 3)
#define PM_VENDOR 0x8086
#define PM_DEVICE 0x7113
#define PM_REVISION 0x03
#define PM_CLASS 0x068000 /* bridge, other */

#define PM_PMBA 0x40 /* PM base address, I/O, bits 15:6 */
#define PM_PMBA_WMASK 0x0000ffc0u
#define PM_DEVACTB 0x58 /* device activity B */
#define PM_DEVACTB_APMC_EN 0x02000000u
#define PM_PMREGMISC 0x80
#define PM_PMIOSE 0x01 /* PM I/O space enable */
#define PM_SMBBA 0x90  /* SMBus base address, I/O, bits 15:4 */
#define PM_SMBBA_WMASK 0x0000fff0u
#define PM_SMBHSTCFG 0xd2

#define PM_IO_LEN 64
#define PM1_STS 0x00
#define PM1_EN 0x02
#define PM1_CNT 0x04
#define PM_TMR 0x08

#define PM1_TMR 0x0001
#define PM1_BM 0x0010
#define PM1_GBL 0x0020
#define PM1_PWRBTN 0x0100
#define PM1_RTC 0x0400
#define PM1_WAK 0x8000
#define PM1_STS_MASK (PM1_TMR | PM1_BM | PM1_GBL | PM1_PWRBTN | PM1_RTC | PM1_WAK)
#define PM1_EN_MASK (PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_RTC)
/* Events that raise SCI when both status and enable bits are set. */
#define PM1_SCI_EVENTS (PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_RTC)

#define PM1_CNT_SCI_EN 0x0001
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP_MASK 0x1c00
#define PM1_CNT_SLP_EN 0x2000
#define PM_SLP_TYP_SOFT_OFF 0 /* PIIX4 datasheet, PMCNTRL SUS_TYP: 000 = soft off */

#define PM_TMR_HZ 3579545ull
#define PM_TMR_MASK 0xffffffull
#define PM_TMR_OVF_SHIFT 23 /* TMR_STS follows bit 23 of the counter */

#define PM_GPE0_PORT 0xafe0
#define PM_GPE0_LEN 4
#define PM_APM_PORT 0xb2
#define PM_APM_LEN 2
#define PM_ACPI_ENABLE 0xf1
#define PM_ACPI_DISABLE 0xf0
#define PM_SCI_IRQ 9

struct piix4_pm {
	struct dm *dm;
	struct pci_bus *bus;
	struct pci_func func;
	struct io_region pm_io;
	struct io_region gpe_io;
	struct io_region apm_io;
	uint64_t pm_io_at; /* port the PM block is mapped at, or PCI_BAR_UNMAPPED */
	uint64_t pm_io_refused;

	uint16_t pm1_sts, pm1_en, pm1_cnt;
	uint16_t gpe_sts, gpe_en;
	uint8_t apm_cnt, apm_sts;

	struct irq_line sci;
	bool sci_ref;	     /* holds a level-trigger reference on the SCI IRQ */
	struct dm_timer tmr; /* armed for the next TMR_STS while TMR_EN is set */
	uint64_t tmr_seen;   /* timer ticks when TMR_STS was last brought up to date */
	bool hook_installed;
};

/* ---- PM timer ------------------------------------------------------------------------------ */

static uint64_t pm_ticks(const struct piix4_pm *s)
{
	return (uint64_t)((unsigned __int128)clock_ns(s->dm->clock) * PM_TMR_HZ / NS_PER_SEC);
}

/* Earliest virtual time at which the tick count reaches `ticks`. */
static uint64_t pm_ticks_to_ns(uint64_t ticks)
{
	unsigned __int128 ns = ((unsigned __int128)ticks * NS_PER_SEC + PM_TMR_HZ - 1) / PM_TMR_HZ;

	return ns > UINT64_MAX - 1 ? CLOCK_NEVER : (uint64_t)ns;
}

/* Set TMR_STS if bit 23 changed since the last look (ACPI: PM1 status, TMR_STS). */
static void pm_tmr_catch_up(struct piix4_pm *s)
{
	uint64_t now = pm_ticks(s);

	if ((now >> PM_TMR_OVF_SHIFT) != (s->tmr_seen >> PM_TMR_OVF_SHIFT))
		s->pm1_sts |= PM1_TMR;
	s->tmr_seen = now;
}

static void pm_update_sci(struct piix4_pm *s)
{
	bool pending = (s->pm1_sts & s->pm1_en & PM1_SCI_EVENTS) || (s->gpe_sts & s->gpe_en);

	irq_set(&s->sci, pending);
}

static void pm_tmr_arm(struct piix4_pm *s)
{
	uint64_t next;

	pm_tmr_catch_up(s);
	if (!(s->pm1_en & PM1_TMR)) {
		timer_del(&s->tmr);
		return;
	}
	next = ((s->tmr_seen >> PM_TMR_OVF_SHIFT) + 1) << PM_TMR_OVF_SHIFT;
	timer_mod(&s->tmr, pm_ticks_to_ns(next));
}

static void pm_tmr_fire(void *opaque)
{
	struct piix4_pm *s = opaque;

	pm_tmr_catch_up(s);
	pm_update_sci(s);
	pm_tmr_arm(s);
}

/* ---- PM I/O block -------------------------------------------------------------------------- */

/*
 * The part of a (off, size) access that falls on the 16-bit register at
 * `reg`: its value shifted into place and a mask of the bytes touched.
 */
static uint16_t field_mask(uint64_t off, unsigned size, unsigned reg)
{
	uint16_t m = 0;
	unsigned i;

	for (i = 0; i < 2; i++)
		if (reg + i >= off && reg + i < off + size)
			m |= (uint16_t)(0xff << (8 * i));
	return m;
}

static uint16_t field_val(uint64_t off, uint64_t val, unsigned reg)
{
	int shift = (int)(8 * ((int64_t)reg - (int64_t)off));

	return (uint16_t)(shift >= 0 ? val >> shift : val << -shift);
}

static uint64_t pm_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct piix4_pm *s = opaque;
	uint8_t img[16];
	uint32_t tmr;
	uint64_t v = 0;
	unsigned i;

	pm_tmr_catch_up(s);
	tmr = (uint32_t)(s->tmr_seen & PM_TMR_MASK);
	for (i = 0; i < sizeof(img); i++)
		img[i] = 0xff;
	img[0] = (uint8_t)s->pm1_sts;
	img[1] = (uint8_t)(s->pm1_sts >> 8);
	img[2] = (uint8_t)s->pm1_en;
	img[3] = (uint8_t)(s->pm1_en >> 8);
	img[4] = (uint8_t)s->pm1_cnt;
	img[5] = (uint8_t)(s->pm1_cnt >> 8);
	for (i = 0; i < 4; i++)
		img[8 + i] = (uint8_t)(tmr >> (8 * i));
	for (i = 0; i < size; i++) {
		uint64_t a = off + i;

		v |= (uint64_t)(a < sizeof(img) ? img[a] : 0xff) << (8 * i);
	}
	return v;
}

static void pm_sleep(struct piix4_pm *s, uint16_t cnt)
{
	unsigned typ = (cnt & PM1_CNT_SLP_TYP_MASK) >> PM1_CNT_SLP_TYP_SHIFT;

	if (typ == PM_SLP_TYP_SOFT_OFF) {
		dm_info(MOD, "guest entered S5 (soft off)");
		dm_request_shutdown(s->dm, HVM_SHUTDOWN_POWEROFF);
		return;
	}
	dm_log_ratelimited(LOG_INFO, MOD, "sleep type %u requested: not supported, ignored", typ);
}

static void pm_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct piix4_pm *s = opaque;
	uint16_t m, v;

	m = field_mask(off, size, PM1_STS);
	if (m) {
		pm_tmr_catch_up(s);
		s->pm1_sts &= ~(field_val(off, val, PM1_STS) & m);
	}
	m = field_mask(off, size, PM1_EN);
	if (m) {
		v = field_val(off, val, PM1_EN);
		s->pm1_en = ((s->pm1_en & ~m) | (v & m)) & PM1_EN_MASK;
		pm_tmr_arm(s);
	}
	m = field_mask(off, size, PM1_CNT);
	if (m) {
		v = (s->pm1_cnt & ~m) | (field_val(off, val, PM1_CNT) & m);
		s->pm1_cnt = v & ~PM1_CNT_SLP_EN;
		if (v & PM1_CNT_SLP_EN)
			pm_sleep(s, v);
	}
	pm_update_sci(s);
}

static const struct io_ops pm_io_ops = {
	.read = pm_io_read,
	.write = pm_io_write,
	.min_size = 1,
	.max_size = 4,
};

/* ---- GPE0 and APM ports -------------------------------------------------------------------- */

static uint64_t gpe_read(void *opaque, uint64_t off, unsigned size)
{
	struct piix4_pm *s = opaque;
	uint32_t img = (uint32_t)s->gpe_sts | (uint32_t)s->gpe_en << 16;

	return (img >> (8 * off)) & (size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
}

static void gpe_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct piix4_pm *s = opaque;
	uint16_t m;

	m = field_mask(off, size, 0);
	s->gpe_sts &= ~(field_val(off, val, 0) & m);
	m = field_mask(off, size, 2);
	s->gpe_en = (s->gpe_en & ~m) | (field_val(off, val, 2) & m);
	pm_update_sci(s);
}

static const struct io_ops gpe_ops = {
	.read = gpe_read,
	.write = gpe_write,
	.min_size = 1,
	.max_size = 4,
};

static uint64_t apm_read(void *opaque, uint64_t off, unsigned size)
{
	struct piix4_pm *s = opaque;

	return off == 0 ? s->apm_cnt : s->apm_sts;
}

static void apm_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct piix4_pm *s = opaque;

	if (off != 0) {
		s->apm_sts = (uint8_t)val;
		return;
	}
	s->apm_cnt = (uint8_t)val;
	if (s->apm_cnt == PM_ACPI_ENABLE)
		s->pm1_cnt |= PM1_CNT_SCI_EN;
	else if (s->apm_cnt == PM_ACPI_DISABLE)
		s->pm1_cnt &= ~PM1_CNT_SCI_EN;
	pm_update_sci(s);
}

static const struct io_ops apm_ops = {
	.read = apm_read,
	.write = apm_write,
	.min_size = 1,
	.max_size = 1,
};

/* ---- PCI configuration --------------------------------------------------------------------- */

static void pm_update_io(struct piix4_pm *s)
{
	uint64_t base = pci_get_long(&s->func, PM_PMBA) & PM_PMBA_WMASK;
	uint64_t want = PCI_BAR_UNMAPPED;
	int ret;

	if ((pci_get_byte(&s->func, PM_PMREGMISC) & PM_PMIOSE) && base)
		want = base;
	if (want == s->pm_io_at)
		return;
	s->pm_io_at = PCI_BAR_UNMAPPED;
	if (want == PCI_BAR_UNMAPPED) {
		io_region_unmap(&s->pm_io);
		s->pm_io_refused = PCI_BAR_UNMAPPED;
		return;
	}
	ret = io_region_move(s->dm, &s->pm_io, IO_PIO, want);
	if (ret < 0) {
		io_region_unmap(&s->pm_io);
		if (s->pm_io_refused != want)
			dm_log_ratelimited(LOG_WARN, MOD, "PM block at port 0x%llx refused (%d)",
					   (unsigned long long)want, ret);
		s->pm_io_refused = want;
		return;
	}
	s->pm_io_at = want;
	dm_dbg(MOD, "PM block at port 0x%llx", (unsigned long long)want);
}

static void pm_config_write(struct pci_func *f, uint32_t reg, uint32_t val, unsigned size)
{
	struct piix4_pm *s = f->opaque;

	if ((reg < PM_PMBA + 4 && reg + size > PM_PMBA) ||
	    (reg <= PM_PMREGMISC && reg + size > PM_PMREGMISC))
		pm_update_io(s);
}

static const struct pci_func_ops pm_pci_ops = {
	.config_write = pm_config_write,
};

/* ---- lifecycle ----------------------------------------------------------------------------- */

static void pm_powerdown(void *opaque)
{
	struct piix4_pm *s = opaque;

	s->pm1_sts |= PM1_PWRBTN;
	pm_update_sci(s);
}

static void piix4_pm_reset(struct dev *d, enum dev_reset kind)
{
	struct piix4_pm *s = d->state;

	pci_func_reset(&s->func);
	pm_update_io(s);
	s->pm1_sts = 0;
	s->pm1_en = 0;
	s->pm1_cnt = 0;
	s->gpe_sts = 0;
	s->gpe_en = 0;
	s->apm_cnt = 0;
	s->apm_sts = 0;
	s->tmr_seen = pm_ticks(s);
	timer_del(&s->tmr);
	pm_update_sci(s);
}

static void pm_setup_config(struct pci_func *f)
{
	pci_set_ids(f, PM_VENDOR, PM_DEVICE, PM_REVISION, PM_CLASS);
	pci_set_word(f, PCI_STATUS, PCI_STATUS_FAST_BACK | PCI_STATUS_DEVSEL_MEDIUM);
	pci_set_byte(f, PCI_INTERRUPT_PIN, 1);
	/* Bit 0 of both base registers is hard-wired 1: I/O space indicator. */
	pci_set_long(f, PM_PMBA, 0x1);
	pci_set_wmask(f, PM_PMBA, 4, PM_PMBA_WMASK);
	pci_set_wmask(f, PM_PMREGMISC, 1, PM_PMIOSE);
	pci_set_long(f, PM_SMBBA, 0xb100 | 0x1);
	pci_set_wmask(f, PM_SMBBA, 4, PM_SMBBA_WMASK);
	pci_set_byte(f, PM_SMBHSTCFG, 0x09);
	/*
	 * DEVACTB APMC_EN (0x58 bit 25) set at power-on, as QEMU does without
	 * SMM: SeaBIOS then skips its SMM relocation, which would wait forever
	 * at port 0xB3 for an SMI handler that does not exist here.
	 */
	pci_set_byte(f, PM_DEVACTB + 3, PM_DEVACTB_APMC_EN >> 24);
	/* Power-on values QEMU shows (DEVRESA 0x5F, DEVRESD 0x63). */
	pci_set_byte(f, 0x5f, 0x10);
	pci_set_byte(f, 0x63, 0x60);
}

static int piix4_pm_create(struct dev *d, const struct opts *o)
{
	struct piix4_pm *s = d->state;
	int ret;

	s->dm = d->dm;
	s->pm_io_at = PCI_BAR_UNMAPPED;
	s->pm_io_refused = PCI_BAR_UNMAPPED;
	s->bus = pci_bus_of(d->dm);
	if (!s->bus) {
		dm_err(MOD, "no PCI bus: create the i440fx host bridge first");
		return -ENODEV;
	}
	io_region_init(&s->pm_io, &pm_io_ops, s, "piix4-pm", PM_IO_LEN);
	io_region_init(&s->gpe_io, &gpe_ops, s, "acpi-gpe0", PM_GPE0_LEN);
	io_region_init(&s->apm_io, &apm_ops, s, "apm", PM_APM_LEN);
	timer_init(&s->tmr, d->dm->clock, pm_tmr_fire, s);
	irq_line_init(&s->sci, d->dm, PM_SCI_IRQ);
	pci_bus_level_irq_get(s->bus, PM_SCI_IRQ);
	s->sci_ref = true;

	ret = pci_func_init(&s->func, s->bus, PM_DEVFN, "piix4-pm", &pm_pci_ops, s);
	if (ret < 0) {
		dm_err(MOD, "devfn 0x%02x: %d", PM_DEVFN, ret);
		return ret;
	}
	pm_setup_config(&s->func);
	pci_func_ready(&s->func);

	ret = io_region_map(d->dm, &s->gpe_io, IO_PIO, PM_GPE0_PORT);
	if (ret < 0) {
		dm_err(MOD, "GPE0 ports 0x%x: %d", PM_GPE0_PORT, ret);
		return ret;
	}
	ret = io_region_map(d->dm, &s->apm_io, IO_PIO, PM_APM_PORT);
	if (ret < 0) {
		dm_err(MOD, "APM ports 0x%x: %d", PM_APM_PORT, ret);
		return ret;
	}
	if (!d->dm->powerdown) {
		d->dm->powerdown = pm_powerdown;
		d->dm->powerdown_opaque = s;
		s->hook_installed = true;
	}
	piix4_pm_reset(d, DEV_RESET_COLD);
	return 0;
}

static void piix4_pm_destroy(struct dev *d)
{
	struct piix4_pm *s = d->state;

	if (!s->bus)
		return;
	if (s->hook_installed && d->dm->powerdown_opaque == s) {
		d->dm->powerdown = NULL;
		d->dm->powerdown_opaque = NULL;
	}
	timer_del(&s->tmr);
	irq_set(&s->sci, false);
	if (s->sci_ref)
		pci_bus_level_irq_put(s->bus, PM_SCI_IRQ);
	io_region_unmap(&s->apm_io);
	io_region_unmap(&s->gpe_io);
	io_region_unmap(&s->pm_io);
	pci_func_exit(&s->func);
	s->bus = NULL;
}

static const struct dev_type piix4_pm_type = {
	.name = "piix4-pm",
	.state_size = sizeof(struct piix4_pm),
	.create = piix4_pm_create,
	.reset = piix4_pm_reset,
	.destroy = piix4_pm_destroy,
};
DM_DEVICE(piix4_pm_type);
