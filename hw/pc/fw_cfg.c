// SPDX-License-Identifier: MIT
/*
 * fw_cfg.c - QEMU's firmware configuration device, the channel through which
 * SeaBIOS (in its QEMU mode) learns the machine: RAM, CPUs, e820, boot order,
 * SMBIOS, ACPI and direct Linux boot.  Device type "fw_cfg".
 *
 * Emulated (QEMU docs/specs/fw_cfg.rst, x86 I/O port variant):
 *   - 0x510: 16-bit selector write; a byte write there is a data write
 *     (ignored, as in QEMU since 2.4) and byte reads return data, since QEMU
 *     decodes 0x510-0x511 as one region;
 *   - 0x511: data byte, advancing through the selected item; past the end,
 *     or for a key with no item, it reads 0;
 *   - 0x514-0x51B: DMA address register, big-endian; a write of the high
 *     half (0x514) then the low half (0x518) or a 64-bit write starts the
 *     transfer; reading returns "QEMU CFG".  The access descriptor in guest
 *     memory is {be32 control, be32 length, be64 address}; control bits
 *     SELECT (key in bits 31:16), READ, SKIP, WRITE; on completion the
 *     control word is written back 0, or ERROR if guest memory was out of
 *     range or a write was attempted (no item is writable);
 *   - the signature "QEMU", ID (traditional + DMA), the sorted file
 *     directory (be32 count, then {be32 size, be16 key, be16 0, name[56]}).
 * Items: UUID, RAM size, CPU counts, NUMA (no nodes), boot menu (off),
 * IRQ0 override, bootorder, etc/boot-menu-wait, etc/e820, SMBIOS, direct
 * Linux boot (fw_cfg_linux.c) and with -acpi the ACPI tables and their
 * linker/loader script (acpi_tables.c).
 * Not emulated: the MMIO variant, writable items (etc/... write callbacks),
 * ramfb, and the legacy E820 key (SeaBIOS prefers etc/e820).
 */
#include "fw_cfg.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi_tables.h"
#include "device.h"
#include "dm.h"
#include "gmem.h"
#include "iospace.h"
#include "log.h"
#include "pc.h"
#include "smbios.h"

#define MOD "fw_cfg"
#define FW_CFG_MAX_ITEMS 64
#define FW_CFG_DMA_CHUNK 4096
#define FW_CFG_KVM_RESERVED 0xfeffc000ull /* identity map + TSS a KVM host reserves */
#define FW_CFG_KVM_RESERVED_LEN 0x4000ull
#define FW_CFG_BOOT_MENU_WAIT_MS 2500
#define FW_CFG_LINUXBOOT_ROM "/usr/share/qemu/linuxboot_dma.bin"

struct fw_cfg_item {
	uint16_t key; /* arch bit | entry */
	bool is_file;
	char name[FW_CFG_FILE_NAME_MAX];
	uint8_t *data;
	uint32_t len;
};

struct fw_cfg {
	struct dm *dm;
	struct io_region io;  /* 0x510-0x511 */
	struct io_region dma; /* 0x514-0x51B */
	struct fw_cfg_item items[FW_CFG_MAX_ITEMS];
	unsigned nr_items;
	struct fw_cfg_item *cur; /* NULL: invalid selector */
	uint32_t cur_off;
	uint64_t dma_addr;
	bool dma_enabled;
};

struct fw_cfg *fw_cfg_of(struct dev *d)
{
	return d && !strcmp(d->type->name, "fw_cfg") ? d->state : NULL;
}

/* ---- items -------------------------------------------------------------------------------- */

static uint16_t fw_cfg_canon(uint16_t key)
{
	return key & (FW_CFG_ARCH_LOCAL | FW_CFG_ENTRY_MASK);
}

static struct fw_cfg_item *fw_cfg_find(struct fw_cfg *s, uint16_t key)
{
	unsigned i;

	key = fw_cfg_canon(key);
	for (i = 0; i < s->nr_items; i++)
		if (s->items[i].key == key)
			return &s->items[i];
	return NULL;
}

static struct fw_cfg_item *fw_cfg_new_item(struct fw_cfg *s, void *data, uint32_t len)
{
	struct fw_cfg_item *it;

	if (s->nr_items >= FW_CFG_MAX_ITEMS) {
		free(data);
		return NULL;
	}
	it = &s->items[s->nr_items++];
	memset(it, 0, sizeof(*it));
	it->data = data;
	it->len = data ? len : 0;
	return it;
}

int fw_cfg_add_bytes(struct fw_cfg *s, uint16_t key, void *data, uint32_t len)
{
	struct fw_cfg_item *it;

	if ((key & FW_CFG_ENTRY_MASK) >= FW_CFG_FILE_FIRST || (key & FW_CFG_WRITE_CHANNEL)) {
		free(data);
		return -EINVAL;
	}
	if (fw_cfg_find(s, key)) {
		free(data);
		return -EEXIST;
	}
	it = fw_cfg_new_item(s, data, len);
	if (!it)
		return -ENOSPC;
	it->key = key;
	return 0;
}

static int fw_cfg_add_le(struct fw_cfg *s, uint16_t key, uint64_t v, unsigned bytes)
{
	uint8_t *p = malloc(bytes);
	unsigned i;

	if (!p)
		return -ENOMEM;
	for (i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return fw_cfg_add_bytes(s, key, p, bytes);
}

int fw_cfg_add_u16(struct fw_cfg *s, uint16_t key, uint16_t v)
{
	return fw_cfg_add_le(s, key, v, 2);
}

int fw_cfg_add_u32(struct fw_cfg *s, uint16_t key, uint32_t v)
{
	return fw_cfg_add_le(s, key, v, 4);
}

int fw_cfg_add_u64(struct fw_cfg *s, uint16_t key, uint64_t v)
{
	return fw_cfg_add_le(s, key, v, 8);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int fw_cfg_file_cmp(const void *a, const void *b)
{
	const struct fw_cfg_item *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* Give files their keys in name order and rebuild FW_CFG_FILE_DIR. */
static int fw_cfg_rebuild_dir(struct fw_cfg *s)
{
	struct fw_cfg_item *files[FW_CFG_FILE_SLOTS], *dir;
	unsigned i, n = 0;
	uint8_t *buf, *e;

	for (i = 0; i < s->nr_items; i++)
		if (s->items[i].is_file && n < FW_CFG_FILE_SLOTS)
			files[n++] = &s->items[i];
	qsort(files, n, sizeof(files[0]), fw_cfg_file_cmp);
	buf = calloc(1, 4 + 64 * (size_t)n);
	if (!buf)
		return -ENOMEM;
	put_be32(buf, n);
	for (i = 0; i < n; i++) {
		files[i]->key = (uint16_t)(FW_CFG_FILE_FIRST + i);
		e = buf + 4 + 64 * i;
		put_be32(e, files[i]->len);
		e[4] = (uint8_t)(files[i]->key >> 8);
		e[5] = (uint8_t)files[i]->key;
		memcpy(e + 8, files[i]->name, FW_CFG_FILE_NAME_MAX);
	}
	dir = fw_cfg_find(s, FW_CFG_FILE_DIR);
	if (!dir) {
		dir = fw_cfg_new_item(s, NULL, 0);
		if (!dir) {
			free(buf);
			return -ENOSPC;
		}
		dir->key = FW_CFG_FILE_DIR;
	}
	free(dir->data);
	dir->data = buf;
	dir->len = 4 + 64 * n;
	return 0;
}

int fw_cfg_add_file(struct fw_cfg *s, const char *name, void *data, uint32_t len)
{
	struct fw_cfg_item *it;
	unsigned i, files = 0;

	if (!name || strlen(name) >= FW_CFG_FILE_NAME_MAX) {
		free(data);
		return -EINVAL;
	}
	for (i = 0; i < s->nr_items; i++) {
		if (!s->items[i].is_file)
			continue;
		files++;
		if (!strcmp(s->items[i].name, name)) {
			free(data);
			return -EEXIST;
		}
	}
	if (files >= FW_CFG_FILE_SLOTS) {
		free(data);
		return -ENOSPC;
	}
	it = fw_cfg_new_item(s, data, len);
	if (!it)
		return -ENOSPC;
	it->is_file = true;
	it->key = 0xffff; /* assigned by the directory */
	snprintf(it->name, sizeof(it->name), "%s", name);
	s->cur = NULL; /* keys move: drop the selection */
	return fw_cfg_rebuild_dir(s);
}

const uint8_t *fw_cfg_file(struct fw_cfg *s, const char *name, uint32_t *len)
{
	unsigned i;

	for (i = 0; i < s->nr_items; i++) {
		if (s->items[i].is_file && !strcmp(s->items[i].name, name)) {
			*len = s->items[i].len;
			return s->items[i].data;
		}
	}
	return NULL;
}

/* ---- selector and data port --------------------------------------------------------------- */

static void fw_cfg_select(struct fw_cfg *s, uint16_t key)
{
	s->cur_off = 0;
	/* Keys beyond the table select nothing (QEMU fw_cfg_select). */
	s->cur = (key & FW_CFG_ENTRY_MASK) < FW_CFG_MAX_ENTRY ? fw_cfg_find(s, key) : NULL;
}

static uint8_t fw_cfg_read_byte(struct fw_cfg *s)
{
	const struct fw_cfg_item *it = s->cur;

	if (!it || !it->data || s->cur_off >= it->len)
		return 0;
	return it->data[s->cur_off++];
}

static uint64_t fw_cfg_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct fw_cfg *s = opaque;
	uint64_t v = 0;
	unsigned i;

	(void)off;
	for (i = 0; i < size && i < 2; i++)
		v |= (uint64_t)fw_cfg_read_byte(s) << (8 * i);
	return v;
}

static void fw_cfg_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct fw_cfg *s = opaque;

	if (off == 0 && size == 2)
		fw_cfg_select(s, (uint16_t)val);
	/* Byte writes are data writes: no item is writable through the port. */
}

static const struct io_ops fw_cfg_io_ops = {
	.read = fw_cfg_io_read,
	.write = fw_cfg_io_write,
	.min_size = 1,
	.max_size = 2,
};

/* ---- DMA ---------------------------------------------------------------------------------- */

static uint64_t bswap64_(uint64_t v)
{
	return __builtin_bswap64(v);
}

/* Zero-fill guest memory in bounded chunks. */
static int fw_cfg_dma_zero(struct fw_cfg *s, uint64_t gpa, uint64_t len)
{
	static const uint8_t zero[FW_CFG_DMA_CHUNK];
	uint64_t n;

	while (len) {
		n = len < sizeof(zero) ? len : sizeof(zero);
		if (gpa + n < gpa || gmem_write(s->dm, gpa, zero, (size_t)n))
			return -EFAULT;
		gpa += n;
		len -= n;
	}
	return 0;
}

/* One transfer described by the access structure at desc (QEMU fw_cfg_dma_transfer). */
static void fw_cfg_dma_transfer(struct fw_cfg *s, uint64_t desc)
{
	struct fw_cfg_dma_access acc;
	uint32_t control, status = 0;
	uint64_t length, addr, avail, len;
	bool read = false, write = false;
	const struct fw_cfg_item *it;

	if (gmem_read(s->dm, desc, &acc, sizeof(acc))) {
		dm_guest_err(MOD, "DMA descriptor at 0x%llx is outside guest RAM",
			     (unsigned long long)desc);
		return;
	}
	control = __builtin_bswap32(acc.control);
	length = __builtin_bswap32(acc.length);
	addr = bswap64_(acc.address);
	if (control & FW_CFG_DMA_CTL_SELECT)
		fw_cfg_select(s, (uint16_t)(control >> 16));
	if (control & FW_CFG_DMA_CTL_READ)
		read = true;
	else if (control & FW_CFG_DMA_CTL_WRITE)
		write = true;
	else if (!(control & FW_CFG_DMA_CTL_SKIP))
		length = 0;
	/* Each round consumes the item or the request: at most two rounds. */
	while (length && !(status & FW_CFG_DMA_CTL_ERROR)) {
		it = s->cur;
		avail = (it && it->data && s->cur_off < it->len) ? it->len - s->cur_off : 0;
		if (!avail) {
			len = length;
			if (read && fw_cfg_dma_zero(s, addr, len))
				status |= FW_CFG_DMA_CTL_ERROR;
		} else {
			len = length < avail ? length : avail;
			if (read && gmem_write(s->dm, addr, it->data + s->cur_off, (size_t)len))
				status |= FW_CFG_DMA_CTL_ERROR;
			s->cur_off += (uint32_t)len;
		}
		if (write)
			status |= FW_CFG_DMA_CTL_ERROR; /* no item is writable */
		addr += len;
		length -= len;
	}
	if (status)
		dm_guest_err(MOD, "DMA (control 0x%08x) failed", control);
	gmem_write_u32(s->dm, desc, __builtin_bswap32(status));
}

static uint64_t fw_cfg_dma_read(void *opaque, uint64_t off, unsigned size)
{
	static const char sig[8] = FW_CFG_DMA_SIGNATURE;
	uint64_t v = 0;
	unsigned i;

	(void)opaque;
	for (i = 0; i < size && off + i < sizeof(sig); i++)
		v |= (uint64_t)(uint8_t)sig[off + i] << (8 * i);
	return v;
}

static void fw_cfg_dma_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct fw_cfg *s = opaque;
	uint64_t addr;

	/* The register is big-endian: the bytes the guest wrote, most significant first. */
	if (size == 4 && off == 0) {
		s->dma_addr = (uint64_t)__builtin_bswap32((uint32_t)val) << 32;
	} else if (size == 4 && off == 4) {
		addr = s->dma_addr | __builtin_bswap32((uint32_t)val);
		s->dma_addr = 0;
		fw_cfg_dma_transfer(s, addr);
	} else if (size == 8 && off == 0) {
		s->dma_addr = 0;
		fw_cfg_dma_transfer(s, bswap64_(val));
	}
}

static const struct io_ops fw_cfg_dma_ops = {
	.read = fw_cfg_dma_read,
	.write = fw_cfg_dma_write,
	.min_size = 1,
	.max_size = 8,
};

/* ---- machine items ------------------------------------------------------------------------ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into 16 bytes in RFC 4122 order. */
static int fw_cfg_parse_uuid(const char *str, uint8_t uuid[16])
{
	unsigned n = 0, i;
	int hi, lo;

	for (i = 0; str[i] && n < 16; i++) {
		if (str[i] == '-')
			continue;
		hi = hexval(str[i]);
		lo = str[i + 1] ? hexval(str[i + 1]) : -1;
		if (hi < 0 || lo < 0)
			return -EINVAL;
		uuid[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	return n == 16 && !str[i] ? 0 : -EINVAL;
}

static int fw_cfg_add_e820(struct fw_cfg *s, uint64_t below, uint64_t above)
{
	struct fw_cfg_e820 e[3];
	unsigned n = 0;
	void *buf;

	e[n++] = (struct fw_cfg_e820){ 0, below, E820_RAM };
	e[n++] =
		(struct fw_cfg_e820){ FW_CFG_KVM_RESERVED, FW_CFG_KVM_RESERVED_LEN, E820_RESERVED };
	if (above)
		e[n++] = (struct fw_cfg_e820){ PC_4G, above, E820_RAM };
	buf = malloc(sizeof(e[0]) * n);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, e, sizeof(e[0]) * n);
	return fw_cfg_add_file(s, "etc/e820", buf, (uint32_t)(sizeof(e[0]) * n));
}

static int fw_cfg_add_smbios(struct fw_cfg *s, const uint8_t uuid[16], uint64_t below,
			     uint64_t above)
{
	struct smbios_info info = {
		.uuid = uuid,
		.product = s->dm->cfg.name && *s->dm->cfg.name ? s->dm->cfg.name : "HVM domU",
		.nr_cpus = pc_nr_vcpus(s->dm),
		.below_4g = below,
		.above_4g = above,
	};
	uint8_t *tables, *anchor;
	uint32_t tlen, alen;
	int err;

	err = smbios_build(&info, &tables, &tlen, &anchor, &alen);
	if (err)
		return err;
	err = fw_cfg_add_file(s, "etc/smbios/smbios-anchor", anchor, alen);
	if (err) {
		free(tables);
		return err;
	}
	return fw_cfg_add_file(s, "etc/smbios/smbios-tables", tables, tlen);
}

static int fw_cfg_add_acpi(struct fw_cfg *s, uint64_t below)
{
	struct acpi_tables t;
	int err;

	err = acpi_build(pc_nr_vcpus(s->dm), below, &t);
	if (err)
		return err;
	err = fw_cfg_add_file(s, ACPI_FILE_TABLES, t.tables, t.tables_len);
	t.tables = NULL;
	if (!err)
		err = fw_cfg_add_file(s, ACPI_FILE_RSDP, t.rsdp, t.rsdp_len);
	else
		free(t.rsdp);
	t.rsdp = NULL;
	if (!err)
		err = fw_cfg_add_file(s, ACPI_FILE_LOADER, t.loader, t.loader_len);
	else
		free(t.loader);
	t.loader = NULL;
	return err;
}

/* bootorder: only exact device paths belong here; -boot letters travel in CMOS. */
static int fw_cfg_add_bootorder(struct fw_cfg *s, bool linuxboot)
{
	static const char rom[] = "/rom@genroms/linuxboot_dma.bin";
	char *buf;

	if (!linuxboot)
		return fw_cfg_add_file(s, "bootorder", NULL, 0);
	buf = strdup(rom);
	if (!buf)
		return -ENOMEM;
	return fw_cfg_add_file(s, "bootorder", buf, sizeof(rom)); /* NUL included, as QEMU */
}

static int fw_cfg_add_machine(struct fw_cfg *s, const struct opts *o)
{
	struct dm_config *cfg = &s->dm->cfg;
	unsigned cpus = pc_nr_vcpus(s->dm);
	uint64_t below, above;
	uint8_t uuid[16] = { 0 }, *p;
	bool dma;
	int err;

	pc_ram_layout(s->dm, &below, &above);
	err = opts_get_bool(o, "dma", true, &dma);
	if (err)
		return err;
	s->dma_enabled = dma;
	if (cfg->uuid && fw_cfg_parse_uuid(cfg->uuid, uuid)) {
		dm_err(MOD, "-uuid %s: expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", cfg->uuid);
		return -EINVAL;
	}
	p = malloc(4);
	if (!p)
		return -ENOMEM;
	memcpy(p, "QEMU", 4);
	err = fw_cfg_add_bytes(s, FW_CFG_SIGNATURE, p, 4);
	if (!err)
		err = fw_cfg_add_u32(s, FW_CFG_ID, FW_CFG_VERSION | (dma ? FW_CFG_VERSION_DMA : 0));
	p = malloc(16);
	if (!err && p)
		memcpy(p, uuid, 16);
	if (!err)
		err = p ? fw_cfg_add_bytes(s, FW_CFG_UUID, p, 16) : -ENOMEM;
	else
		free(p);
	if (!err)
		err = fw_cfg_add_u64(s, FW_CFG_RAM_SIZE, below + above);
	if (!err)
		err = fw_cfg_add_u16(s, FW_CFG_NOGRAPHIC, cfg->nographic);
	if (!err)
		err = fw_cfg_add_u16(s, FW_CFG_NB_CPUS, (uint16_t)cpus);
	if (!err)
		err = fw_cfg_add_u16(s, FW_CFG_MAX_CPUS, (uint16_t)cpus);
	/* No NUMA nodes: a zero node count, then one zero per CPU (QEMU's layout). */
	if (!err)
		err = fw_cfg_add_bytes(s, FW_CFG_NUMA, calloc(1 + cpus, 8), (1 + cpus) * 8);
	if (!err)
		err = fw_cfg_add_u16(s, FW_CFG_BOOT_MENU, 0);
	if (!err)
		err = fw_cfg_add_u32(s, FW_CFG_IRQ0_OVERRIDE, 1);
	if (!err)
		err = fw_cfg_add_e820(s, below, above);
	if (!err)
		err = fw_cfg_add_bootorder(s, cfg->kernel != NULL);
	if (!err) {
		p = malloc(2);
		if (p) {
			p[0] = FW_CFG_BOOT_MENU_WAIT_MS & 0xff;
			p[1] = FW_CFG_BOOT_MENU_WAIT_MS >> 8;
		}
		err = p ? fw_cfg_add_file(s, "etc/boot-menu-wait", p, 2) : -ENOMEM;
	}
	if (!err)
		err = fw_cfg_add_smbios(s, uuid, below, above);
	if (!err && cfg->acpi)
		err = fw_cfg_add_acpi(s, below);
	if (!err && cfg->kernel)
		err = fw_cfg_load_linux(s, cfg->kernel, cfg->initrd, cfg->append, below,
					opts_get(o, "linuxboot") ? opts_get(o, "linuxboot")
								 : FW_CFG_LINUXBOOT_ROM);
	return err;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void fw_cfg_reset(struct dev *d, enum dev_reset kind)
{
	struct fw_cfg *s = d->state;

	(void)kind;
	s->cur = NULL;
	s->cur_off = 0;
	s->dma_addr = 0;
}

static int fw_cfg_create(struct dev *d, const struct opts *o)
{
	struct fw_cfg *s = d->state;
	int err;

	s->dm = d->dm;
	err = fw_cfg_rebuild_dir(s);
	if (!err)
		err = fw_cfg_add_machine(s, o);
	if (err)
		return err;
	io_region_init(&s->io, &fw_cfg_io_ops, s, "fw_cfg", 2);
	err = io_region_map(s->dm, &s->io, IO_PIO, FW_CFG_PORT_SEL);
	if (err)
		return err;
	if (s->dma_enabled) {
		io_region_init(&s->dma, &fw_cfg_dma_ops, s, "fw_cfg-dma", 8);
		err = io_region_map(s->dm, &s->dma, IO_PIO, FW_CFG_PORT_DMA);
		if (err)
			return err;
	}
	fw_cfg_reset(d, DEV_RESET_COLD);
	return 0;
}

static void fw_cfg_destroy(struct dev *d)
{
	struct fw_cfg *s = d->state;
	unsigned i;

	io_region_unmap(&s->io);
	io_region_unmap(&s->dma);
	for (i = 0; i < s->nr_items; i++)
		free(s->items[i].data);
	s->nr_items = 0;
}

static const struct dev_type fw_cfg_type = {
	.name = "fw_cfg",
	.state_size = sizeof(struct fw_cfg),
	.create = fw_cfg_create,
	.reset = fw_cfg_reset,
	.destroy = fw_cfg_destroy,
};
DM_DEVICE(fw_cfg_type);
