// SPDX-License-Identifier: MIT
/*
 * acpi_tables.c - ACPI tables of the "pc" machine (i440FX + PIIX3 + PIIX4
 * PM), built for SeaBIOS's table loader (QEMU's linker/loader protocol):
 *
 *   etc/acpi/rsdp     RSDP 2.0 (36 bytes), allocated in the F segment;
 *   etc/acpi/tables   FACS, DSDT, FADT (revision 3), MADT, RSDT, XSDT;
 *   etc/table-loader  ALLOCATE both files, ADD_POINTER for every table
 *                     address, ADD_CHECKSUM for every checksum.
 *
 * FADT (ACPI 6.4 section 5.2.9): PM1a event block 0x600, control 0x604, PM
 * timer 0x608 (the PIIX4 PM block where SeaBIOS puts PMBA when a table
 * loader exists), GPE0 0xAFE0 (4 bytes), SCI IRQ 9, SMI_CMD 0xB2 with
 * ACPI_ENABLE 0xF1 / ACPI_DISABLE 0xF0, reset register 0xCF9 value 6,
 * fixed-feature power button, control-method (absent) sleep button, RTC
 * century index 0x32, legacy devices and 8042 present.
 * MADT (5.2.12): a local APIC per vCPU (processor UID = APIC ID = index),
 * IOAPIC id 0 at 0xFEC00000 with GSI base 0, overrides IRQ0 -> GSI 2 and
 * IRQ 5/9/10/11 level/active-high (as QEMU does), LINT1 NMI on all CPUs.
 * DSDT: \_SB.PCI0 (PNP0A03) with its resources and _PRT (device d pin p ->
 * LNK[(d + p) & 3]), the PIIX3 ISA bridge with the PIRQ route registers
 * 0x60-0x63 as an OperationRegion in PCI config space, links LNKA-LNKD
 * (PNP0C0F: _STA/_PRS/_CRS/_DIS/_SRS over those registers), ISA devices
 * RTC (PNP0B00), keyboard (PNP0303), mouse (PNP0F13), COM1/COM2 (PNP0501),
 * floppy controller (PNP0700), and \_S5 with SLP_TYP 0 (PIIX4 soft off).
 * Not provided: HPET, SRAT/SLIT, CPU and PCI hot-plug, S3/S4, _PRW wake.
 */
#include "acpi_tables.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aml.h"

#define ACPI_OEM_ID "HVMDM "
#define ACPI_OEM_TABLE "HVMDMPC "
#define ACPI_CREATOR "HVMD"
#define ACPI_HDR_LEN 36
#define ACPI_FADT_LEN 244
#define ACPI_FACS_LEN 64
#define ACPI_MAX_CPUS 255

/* FADT flags (ACPI 6.4 table 5.10). */
#define FADT_F_WBINVD (1u << 0)
#define FADT_F_PROC_C1 (1u << 2)
#define FADT_F_SLP_BUTTON (1u << 5)
#define FADT_F_RTC_S4 (1u << 7)
#define FADT_F_RESET_REG_SUP (1u << 10)
/* IA-PC boot architecture flags (table 5.11). */
#define FADT_BOOT_LEGACY_DEVICES 0x0001
#define FADT_BOOT_8042 0x0002

/* A growable byte blob with little-endian stores at offsets. */
struct blob {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static size_t blob_alloc(struct blob *b, size_t n, size_t align)
{
	size_t off = (b->len + align - 1) & ~(align - 1), cap;
	uint8_t *np;

	if (b->err)
		return 0;
	if (off + n > b->cap) {
		cap = (off + n) * 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->err = -ENOMEM;
			return 0;
		}
		memset(np + b->cap, 0, cap - b->cap);
		b->p = np;
		b->cap = cap;
	}
	b->len = off + n;
	return off;
}

static void put8(struct blob *b, size_t off, uint8_t v)
{
	if (!b->err)
		b->p[off] = v;
}

static void put16(struct blob *b, size_t off, uint16_t v)
{
	put8(b, off, (uint8_t)v);
	put8(b, off + 1, (uint8_t)(v >> 8));
}

static void put32(struct blob *b, size_t off, uint32_t v)
{
	put16(b, off, (uint16_t)v);
	put16(b, off + 2, (uint16_t)(v >> 16));
}

static void put64(struct blob *b, size_t off, uint64_t v)
{
	put32(b, off, (uint32_t)v);
	put32(b, off + 4, (uint32_t)(v >> 32));
}

static void putmem(struct blob *b, size_t off, const void *p, size_t n)
{
	if (!b->err)
		memcpy(b->p + off, p, n);
}

static uint8_t acpi_sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Standard description header (section 5.2.6); length and checksum set by acpi_seal(). */
static size_t acpi_table(struct blob *b, const char *sig, size_t len, uint8_t rev)
{
	size_t off = blob_alloc(b, len, 8);

	putmem(b, off, sig, 4);
	put32(b, off + 4, (uint32_t)len);
	put8(b, off + 8, rev);
	putmem(b, off + 10, ACPI_OEM_ID, 6);
	putmem(b, off + 16, ACPI_OEM_TABLE, 8);
	put32(b, off + 24, 1);
	putmem(b, off + 28, ACPI_CREATOR, 4);
	put32(b, off + 32, 1);
	return off;
}

static void acpi_seal(struct blob *b, size_t off, size_t len)
{
	if (b->err)
		return;
	put32(b, off + 4, (uint32_t)len);
	b->p[off + 9] = 0;
	b->p[off + 9] = (uint8_t)-acpi_sum(b->p + off, len);
}

/* ---- linker/loader script ----------------------------------------------------------------- */

static void loader_name(struct blob *l, size_t off, const char *name)
{
	putmem(l, off, name, strlen(name)); /* names are shorter than 56 bytes */
}

static void loader_allocate(struct blob *l, const char *file, uint32_t align, uint8_t zone)
{
	size_t e = blob_alloc(l, ACPI_LOADER_ENTRY_SIZE, 1);

	put32(l, e, ACPI_LOADER_ALLOCATE);
	loader_name(l, e + 4, file);
	put32(l, e + 60, align);
	put8(l, e + 64, zone);
}

static void loader_pointer(struct blob *l, const char *dest, const char *src, uint32_t offset,
			   uint8_t size)
{
	size_t e = blob_alloc(l, ACPI_LOADER_ENTRY_SIZE, 1);

	put32(l, e, ACPI_LOADER_ADD_POINTER);
	loader_name(l, e + 4, dest);
	loader_name(l, e + 60, src);
	put32(l, e + 116, offset);
	put8(l, e + 120, size);
}

static void loader_checksum(struct blob *l, const char *file, uint32_t offset, uint32_t start,
			    uint32_t length)
{
	size_t e = blob_alloc(l, ACPI_LOADER_ENTRY_SIZE, 1);

	put32(l, e, ACPI_LOADER_ADD_CHECKSUM);
	loader_name(l, e + 4, file);
	put32(l, e + 60, offset);
	put32(l, e + 64, start);
	put32(l, e + 68, length);
}

/* A table pointer inside etc/acpi/tables, patched by the loader. */
static void table_pointer(struct blob *t, struct blob *l, size_t at, size_t target, uint8_t size)
{
	if (size == 8)
		put64(t, at, target);
	else
		put32(t, at, (uint32_t)target);
	loader_pointer(l, ACPI_FILE_TABLES, ACPI_FILE_TABLES, (uint32_t)at, size);
}

static void table_checksum(struct blob *t, struct blob *l, size_t off)
{
	uint32_t len = t->err ? 0
			      : (uint32_t)(t->p[off + 4] | t->p[off + 5] << 8 |
					   t->p[off + 6] << 16 | (uint32_t)t->p[off + 7] << 24);

	loader_checksum(l, ACPI_FILE_TABLES, (uint32_t)off + 9, (uint32_t)off, len);
}

/* ---- resource templates (section 6.4) ----------------------------------------------------- */

struct res {
	uint8_t b[256];
	size_t n;
};

static void res_bytes(struct res *r, const uint8_t *p, size_t n)
{
	if (r->n + n <= sizeof(r->b) - 2) {
		memcpy(r->b + r->n, p, n);
		r->n += n;
	}
}

/* IO(Decode16, min, max=min, align 1, len) - I/O port descriptor (6.4.2.5). */
static void res_io(struct res *r, uint16_t base, uint8_t len)
{
	const uint8_t d[8] = { 0x47,	      0x01,
			       (uint8_t)base, (uint8_t)(base >> 8),
			       (uint8_t)base, (uint8_t)(base >> 8),
			       0x01,	      len };

	res_bytes(r, d, sizeof(d));
}

/* IRQNoFlags(){irq} - IRQ descriptor (6.4.2.1). */
static void res_irq(struct res *r, unsigned irq)
{
	const uint8_t d[3] = { 0x22, (uint8_t)(1u << irq), (uint8_t)((1u << irq) >> 8) };

	res_bytes(r, d, sizeof(d));
}

/* DMA(Compatibility, NotBusMaster, Transfer8){ch} (6.4.2.2). */
static void res_dma(struct res *r, unsigned ch)
{
	const uint8_t d[3] = { 0x2a, (uint8_t)(1u << ch), 0x00 };

	res_bytes(r, d, sizeof(d));
}

/* Word address space descriptor, producer, MinFixed/MaxFixed (6.4.3.5.3). */
static void res_word(struct res *r, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
	uint16_t len = (uint16_t)(max - min + 1);
	const uint8_t d[16] = { 0x88,
				13,
				0,
				type,
				0x0c,
				tflags,
				0,
				0,
				(uint8_t)min,
				(uint8_t)(min >> 8),
				(uint8_t)max,
				(uint8_t)(max >> 8),
				0,
				0,
				(uint8_t)len,
				(uint8_t)(len >> 8) };

	res_bytes(r, d, sizeof(d));
}

/* DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite) (6.4.3.5.2). */
static void res_dword_mem(struct res *r, uint32_t min, uint32_t max)
{
	uint32_t len = max - min + 1, v[5] = { 0, min, max, 0, len };
	uint8_t d[26] = { 0x87, 23, 0, 0, 0x0c, 0x03 };
	unsigned i;

	for (i = 0; i < 5; i++) {
		d[6 + 4 * i] = (uint8_t)v[i];
		d[7 + 4 * i] = (uint8_t)(v[i] >> 8);
		d[8 + 4 * i] = (uint8_t)(v[i] >> 16);
		d[9 + 4 * i] = (uint8_t)(v[i] >> 24);
	}
	res_bytes(r, d, sizeof(d));
}

/* Interrupt(ResourceConsumer, Level, ActiveHigh, Shared){irqs} (6.4.3.6). */
static void res_ext_irq(struct res *r, const uint8_t *irqs, unsigned n)
{
	uint8_t d[5 + 4 * 8] = { 0x89, (uint8_t)(2 + 4 * n), 0, 0x09, (uint8_t)n };
	unsigned i;

	for (i = 0; i < n && i < 8; i++)
		d[5 + 4 * i] = irqs[i];
	res_bytes(r, d, 5 + 4 * (size_t)n);
}

/* End tag with checksum 0 ("valid"), as ASL compilers emit it. */
static void res_end(struct res *r)
{
	r->b[r->n++] = 0x79;
	r->b[r->n++] = 0x00;
}

/* ---- DSDT ----------------------------------------------------------------------------------- */

static void dsdt_isa_dev(struct aml *a, const char *name, const char *hid, unsigned uid,
			 const struct res *crs)
{
	aml_device(a, name);
	aml_name_eisaid(a, "_HID", hid);
	if (uid)
		aml_name_int(a, "_UID", uid);
	aml_name_buffer(a, "_CRS", crs->b, crs->n);
	aml_close(a);
}

static void dsdt_isa(struct aml *a)
{
	struct res r;

	aml_device(a, "ISA");
	aml_name_int(a, "_ADR", 0x00010000);
	/* PIIX3 PIRQRC[A:D] (datasheet 4.1.10), byte-wide in PCI config space. */
	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_EXT_OP_REGION);
	aml_name(a, "P40C");
	aml_byte(a, AML_REGION_PCI_CONFIG);
	aml_int(a, 0x60);
	aml_int(a, 0x04);
	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_EXT_FIELD);
	aml_pkg_open(a);
	aml_name(a, "P40C");
	aml_byte(a, AML_FIELD_BYTE_ACC);
	aml_bytes(a, "PRQ0\x08PRQ1\x08PRQ2\x08PRQ3\x08", 20);
	aml_close(a);

	memset(&r, 0, sizeof(r));
	res_io(&r, 0x70, 2);
	res_irq(&r, 8);
	res_end(&r);
	dsdt_isa_dev(a, "RTC", "PNP0B00", 0, &r);
	memset(&r, 0, sizeof(r));
	res_io(&r, 0x60, 1);
	res_io(&r, 0x64, 1);
	res_irq(&r, 1);
	res_end(&r);
	dsdt_isa_dev(a, "KBD", "PNP0303", 0, &r);
	memset(&r, 0, sizeof(r));
	res_irq(&r, 12);
	res_end(&r);
	dsdt_isa_dev(a, "MOU", "PNP0F13", 0, &r);
	memset(&r, 0, sizeof(r));
	res_io(&r, 0x3f2, 4);
	res_io(&r, 0x3f7, 1);
	res_irq(&r, 6);
	res_dma(&r, 2);
	res_end(&r);
	dsdt_isa_dev(a, "FDC0", "PNP0700", 0, &r);
	memset(&r, 0, sizeof(r));
	res_io(&r, 0x3f8, 8);
	res_irq(&r, 4);
	res_end(&r);
	dsdt_isa_dev(a, "COM1", "PNP0501", 1, &r);
	memset(&r, 0, sizeof(r));
	res_io(&r, 0x2f8, 8);
	res_irq(&r, 3);
	res_end(&r);
	dsdt_isa_dev(a, "COM2", "PNP0501", 2, &r);
	aml_close(a);
}

static void dsdt_pci0(struct aml *a, uint64_t below_4g)
{
	uint32_t hole = below_4g < 0xfebfffffull ? (uint32_t)below_4g : 0xe0000000u;
	unsigned slot, pin;
	struct res r;
	char link[5];

	aml_device(a, "PCI0");
	aml_name_eisaid(a, "_HID", "PNP0A03"); /* a _HID device takes no _ADR (6.1.1) */
	aml_name_int(a, "_UID", 0);
	memset(&r, 0, sizeof(r));
	res_word(&r, 2, 0, 0x00, 0xff); /* bus numbers */
	res_io(&r, 0xcf8, 8);
	res_word(&r, 1, 0x03, 0x0000, 0x0cf7); /* I/O, entire range */
	res_word(&r, 1, 0x03, 0x0d00, 0xffff);
	res_dword_mem(&r, 0x000a0000, 0x000bffff);
	res_dword_mem(&r, hole, 0xfebfffff);
	res_end(&r);
	aml_name_buffer(a, "_CRS", r.b, r.n);

	/* _PRT: Package{ Package{addr, pin, link, 0}, ... } (section 6.2.13). */
	aml_byte(a, AML_NAME);
	aml_name(a, "_PRT");
	aml_byte(a, AML_PACKAGE);
	aml_pkg_open(a);
	aml_byte(a, 0x80); /* 128 entries: slots 0-31, pins A-D */
	for (slot = 0; slot < 32; slot++) {
		for (pin = 0; pin < 4; pin++) {
			aml_package(a, 4);
			aml_int(a, (uint64_t)slot << 16 | 0xffff);
			aml_int(a, pin);
			memcpy(link, "LNKA", 5);
			link[3] = (char)('A' + ((slot + pin) & 3));
			aml_name(a, link);
			aml_int(a, 0);
			aml_close(a);
		}
	}
	aml_close(a);
	dsdt_isa(a);
	aml_close(a);
}

/* LNKx: a PCI interrupt link over one PIRQ route register (bit 7 = disabled). */
static void dsdt_link(struct aml *a, unsigned i)
{
	static const uint8_t irqs[3] = { 5, 10, 11 };
	static const uint8_t one[1] = { 0 };
	char name[5] = "LNKA", reg[20] = "\\_SB.PCI0.ISA.PRQ0";
	struct res r;

	name[3] = (char)('A' + i);
	reg[17] = (char)('0' + i);
	aml_device(a, name);
	aml_name_eisaid(a, "_HID", "PNP0C0F");
	aml_name_int(a, "_UID", i + 1);
	memset(&r, 0, sizeof(r));
	res_ext_irq(&r, irqs, 3);
	res_end(&r);
	aml_name_buffer(a, "_PRS", r.b, r.n);

	/* Method(_STA) { If (And(PRQn, 0x80)) { Return (0x09) } Else { Return (0x0B) } } */
	aml_method(a, "_STA", 0, 0);
	aml_if(a);
	aml_byte(a, AML_AND);
	aml_name(a, reg);
	aml_int(a, 0x80);
	aml_byte(a, AML_ZERO);
	aml_byte(a, AML_RETURN);
	aml_int(a, 0x09);
	aml_close(a);
	aml_else(a);
	aml_byte(a, AML_RETURN);
	aml_int(a, 0x0b);
	aml_close(a);
	aml_close(a);

	/* Method(_DIS) { Or(PRQn, 0x80, PRQn) } */
	aml_method(a, "_DIS", 0, 0);
	aml_byte(a, AML_OR);
	aml_name(a, reg);
	aml_int(a, 0x80);
	aml_name(a, reg);
	aml_close(a);

	/*
	 * Method(_CRS, 0, Serialized) {
	 *   Name(PRR0, ResourceTemplate(){ Interrupt(...){0} })
	 *   CreateDWordField(PRR0, 5, PRRI)
	 *   If (LLess(PRQn, 0x80)) { Store(PRQn, PRRI) }
	 *   Return (PRR0) }
	 */
	memset(&r, 0, sizeof(r));
	res_ext_irq(&r, one, 1);
	res_end(&r);
	aml_method(a, "_CRS", 0, 1);
	aml_name_buffer(a, "PRR0", r.b, r.n);
	aml_byte(a, AML_CREATE_DWORD_FIELD);
	aml_name(a, "PRR0");
	aml_int(a, 5);
	aml_name(a, "PRRI");
	aml_if(a);
	aml_byte(a, AML_LLESS);
	aml_name(a, reg);
	aml_int(a, 0x80);
	aml_byte(a, AML_STORE);
	aml_name(a, reg);
	aml_name(a, "PRRI");
	aml_close(a);
	aml_byte(a, AML_RETURN);
	aml_name(a, "PRR0");
	aml_close(a);

	/* Method(_SRS, 1, Serialized) { CreateDWordField(Arg0, 5, PRRI) Store(PRRI, PRQn) } */
	aml_method(a, "_SRS", 1, 1);
	aml_byte(a, AML_CREATE_DWORD_FIELD);
	aml_byte(a, AML_ARG0);
	aml_int(a, 5);
	aml_name(a, "PRRI");
	aml_byte(a, AML_STORE);
	aml_name(a, "PRRI");
	aml_name(a, reg);
	aml_close(a);
	aml_close(a);
}

static int build_dsdt(struct blob *t, uint64_t below_4g, size_t *off)
{
	struct aml a;
	uint8_t *body;
	size_t len, at;
	unsigned i;
	int err;

	aml_init(&a);
	aml_scope(&a, "\\_SB");
	dsdt_pci0(&a, below_4g);
	for (i = 0; i < 4; i++)
		dsdt_link(&a, i);
	aml_close(&a);
	/* Name(\_S5, Package(4){0, 0, 0, 0}): SLP_TYP 0 is soft off on PIIX4. */
	aml_byte(&a, AML_NAME);
	aml_name(&a, "\\_S5");
	aml_package(&a, 4);
	for (i = 0; i < 4; i++)
		aml_int(&a, 0);
	aml_close(&a);
	err = aml_finish(&a, &body, &len);
	if (err)
		return err;
	at = acpi_table(t, "DSDT", ACPI_HDR_LEN + len, 1);
	putmem(t, at + ACPI_HDR_LEN, body, len);
	free(body);
	acpi_seal(t, at, ACPI_HDR_LEN + len);
	*off = at;
	return t->err;
}

/* ---- fixed tables ------------------------------------------------------------------------- */

/* Generic Address Structure (section 5.2.3.2) in system I/O space. */
static void put_gas_io(struct blob *b, size_t off, uint8_t bits, uint8_t access, uint64_t addr)
{
	put8(b, off, 1);
	put8(b, off + 1, bits);
	put8(b, off + 2, 0);
	put8(b, off + 3, access);
	put64(b, off + 4, addr);
}

static size_t build_fadt(struct blob *t, struct blob *l, size_t facs, size_t dsdt)
{
	size_t f = acpi_table(t, "FACP", ACPI_FADT_LEN, 3);

	table_pointer(t, l, f + 36, facs, 4);
	table_pointer(t, l, f + 40, dsdt, 4);
	put16(t, f + 46, ACPI_SCI_IRQ);
	put32(t, f + 48, ACPI_SMI_CMD);
	put8(t, f + 52, ACPI_ENABLE_VAL);
	put8(t, f + 53, ACPI_DISABLE_VAL);
	put32(t, f + 56, ACPI_PM1A_EVT);
	put32(t, f + 64, ACPI_PM1A_CNT);
	put32(t, f + 76, ACPI_PM_TMR);
	put32(t, f + 80, ACPI_GPE0_BLK);
	put8(t, f + 88, 4);		/* PM1_EVT_LEN */
	put8(t, f + 89, 2);		/* PM1_CNT_LEN */
	put8(t, f + 91, 4);		/* PM_TMR_LEN */
	put8(t, f + 92, ACPI_GPE0_LEN); /* GPE0_BLK_LEN */
	put16(t, f + 96, 0x0fff);	/* P_LVL2_LAT > 100: C2 unsupported */
	put16(t, f + 98, 0x0fff);	/* P_LVL3_LAT > 1000: C3 unsupported */
	put8(t, f + 108, 0x32);		/* CENTURY: CMOS index */
	put16(t, f + 109, FADT_BOOT_LEGACY_DEVICES | FADT_BOOT_8042);
	put32(t, f + 112,
	      FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_RTC_S4 |
		      FADT_F_RESET_REG_SUP);
	put_gas_io(t, f + 116, 8, 1, ACPI_RESET_PORT);
	put8(t, f + 128, ACPI_RESET_VAL);
	table_pointer(t, l, f + 140, dsdt, 8); /* X_DSDT */
	put_gas_io(t, f + 148, 32, 0, ACPI_PM1A_EVT);
	put_gas_io(t, f + 172, 16, 0, ACPI_PM1A_CNT);
	put_gas_io(t, f + 208, 32, 0, ACPI_PM_TMR);
	put_gas_io(t, f + 220, ACPI_GPE0_LEN * 8, 0, ACPI_GPE0_BLK);
	acpi_seal(t, f, ACPI_FADT_LEN);
	return f;
}

static size_t build_madt(struct blob *t, unsigned cpus)
{
	static const uint8_t level_irqs[4] = { 5, 9, 10, 11 };
	size_t len = ACPI_HDR_LEN + 8 + 8 * (size_t)cpus + 12 + 10 * 5 + 6, m, e;
	unsigned i;

	m = acpi_table(t, "APIC", len, 1);
	put32(t, m + 36, ACPI_LAPIC_ADDR);
	put32(t, m + 40, 1); /* PCAT_COMPAT: dual 8259s present */
	e = m + 44;
	for (i = 0; i < cpus; i++, e += 8) {
		put8(t, e, 0); /* processor local APIC */
		put8(t, e + 1, 8);
		put8(t, e + 2, (uint8_t)i);
		put8(t, e + 3, (uint8_t)i);
		put32(t, e + 4, 1); /* enabled */
	}
	put8(t, e, 1); /* I/O APIC */
	put8(t, e + 1, 12);
	put8(t, e + 2, 0);
	put32(t, e + 4, ACPI_IOAPIC_ADDR);
	put32(t, e + 8, 0);
	e += 12;
	/* IRQ0 -> GSI 2, conforming polarity and trigger. */
	put8(t, e, 2);
	put8(t, e + 1, 10);
	put8(t, e + 3, 0);
	put32(t, e + 4, 2);
	put16(t, e + 8, 0);
	e += 10;
	for (i = 0; i < 4; i++, e += 10) {
		put8(t, e, 2);
		put8(t, e + 1, 10);
		put8(t, e + 3, level_irqs[i]);
		put32(t, e + 4, level_irqs[i]);
		put16(t, e + 8, 0x000d); /* active high (01), level (11 << 2) */
	}
	/* LINT1 is NMI on every processor (UID 0xFF). */
	put8(t, e, 4);
	put8(t, e + 1, 6);
	put8(t, e + 2, 0xff);
	put16(t, e + 3, 0);
	put8(t, e + 5, 1);
	acpi_seal(t, m, len);
	return m;
}

static size_t build_sdt(struct blob *t, struct blob *l, const char *sig, const size_t *tables,
			unsigned n, uint8_t entry)
{
	size_t len = ACPI_HDR_LEN + (size_t)entry * n, s;
	unsigned i;

	s = acpi_table(t, sig, len, 1);
	for (i = 0; i < n; i++)
		table_pointer(t, l, s + ACPI_HDR_LEN + (size_t)entry * i, tables[i], entry);
	acpi_seal(t, s, len);
	return s;
}

static void build_rsdp(struct blob *r, struct blob *l, size_t rsdt, size_t xsdt)
{
	size_t p = blob_alloc(r, 36, 16);

	putmem(r, p, "RSD PTR ", 8);
	putmem(r, p + 9, ACPI_OEM_ID, 6);
	put8(r, p + 15, 2);
	put32(r, p + 16, (uint32_t)rsdt);
	put32(r, p + 20, 36);
	put64(r, p + 24, xsdt);
	if (!r->err) {
		r->p[p + 8] = (uint8_t)-acpi_sum(r->p + p, 20);
		r->p[p + 32] = (uint8_t)-acpi_sum(r->p + p, 36);
	}
	loader_pointer(l, ACPI_FILE_RSDP, ACPI_FILE_TABLES, 16, 4);
	loader_pointer(l, ACPI_FILE_RSDP, ACPI_FILE_TABLES, 24, 8);
	loader_checksum(l, ACPI_FILE_RSDP, 8, 0, 20);
	loader_checksum(l, ACPI_FILE_RSDP, 32, 0, 36);
}

int acpi_build(unsigned nr_cpus, uint64_t below_4g, struct acpi_tables *out)
{
	struct blob t = { 0 }, r = { 0 }, l = { 0 };
	size_t facs, dsdt, fadt, madt, rsdt, xsdt, list[2];
	int err;

	memset(out, 0, sizeof(*out));
	if (!nr_cpus)
		nr_cpus = 1;
	if (nr_cpus > ACPI_MAX_CPUS)
		nr_cpus = ACPI_MAX_CPUS;
	loader_allocate(&l, ACPI_FILE_RSDP, 16, ACPI_LOADER_ZONE_FSEG);
	loader_allocate(&l, ACPI_FILE_TABLES, 64, ACPI_LOADER_ZONE_HIGH);
	/* FACS: 64-byte aligned, no checksum (section 5.2.10). */
	facs = blob_alloc(&t, ACPI_FACS_LEN, 64);
	putmem(&t, facs, "FACS", 4);
	put32(&t, facs + 4, ACPI_FACS_LEN);
	put8(&t, facs + 32, 1); /* version */
	err = build_dsdt(&t, below_4g, &dsdt);
	if (err)
		goto fail;
	loader_checksum(&l, ACPI_FILE_TABLES, (uint32_t)dsdt + 9, (uint32_t)dsdt,
			(uint32_t)(t.len - dsdt));
	fadt = build_fadt(&t, &l, facs, dsdt);
	table_checksum(&t, &l, fadt);
	madt = build_madt(&t, nr_cpus);
	table_checksum(&t, &l, madt);
	list[0] = fadt;
	list[1] = madt;
	rsdt = build_sdt(&t, &l, "RSDT", list, 2, 4);
	table_checksum(&t, &l, rsdt);
	xsdt = build_sdt(&t, &l, "XSDT", list, 2, 8);
	table_checksum(&t, &l, xsdt);
	build_rsdp(&r, &l, rsdt, xsdt);
	err = t.err ? t.err : r.err ? r.err : l.err;
	if (err)
		goto fail;
	out->tables = t.p;
	out->tables_len = (uint32_t)t.len;
	out->rsdp = r.p;
	out->rsdp_len = (uint32_t)r.len;
	out->loader = l.p;
	out->loader_len = (uint32_t)l.len;
	return 0;
fail:
	free(t.p);
	free(r.p);
	free(l.p);
	return err;
}

void acpi_tables_free(struct acpi_tables *t)
{
	free(t->tables);
	free(t->rsdp);
	free(t->loader);
	memset(t, 0, sizeof(*t));
}
