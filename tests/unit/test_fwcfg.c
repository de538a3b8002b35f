// SPDX-License-Identifier: MIT
/*
 * test_fwcfg.c - the fw_cfg device on a standalone dm, through its ports and
 * guest memory only: signature, ID, the sorted big-endian file directory,
 * etc/e820 for 128 MiB and 5 GiB, DMA reads (select, skip, read) into guest
 * RAM, DMA errors (target outside RAM, descriptor outside RAM, writes),
 * selectors out of range, SMBIOS entry point and table, the ACPI files, and
 * the direct Linux boot items of a synthetic bzImage.  SMBIOS is also
 * decoded by dmidecode when it is installed.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "dm.h"
#include "gmem.h"
#include "pc/fw_cfg.h"
#include "io_util.h"
#include "tap.h"

static void sel(struct dm *dm, uint16_t key)
{
	io_out(dm, FW_CFG_PORT_SEL, 2, key);
}

static void read_bytes(struct dm *dm, uint16_t key, uint8_t *buf, size_t n)
{
	size_t i;

	sel(dm, key);
	for (i = 0; i < n; i++)
		buf[i] = (uint8_t)io_in(dm, FW_CFG_PORT_DATA, 1);
}

static uint64_t read_le(struct dm *dm, uint16_t key, unsigned n)
{
	uint8_t b[8] = { 0 };
	uint64_t v = 0;
	unsigned i;

	read_bytes(dm, key, b, n);
	for (i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct file {
	char name[57];
	uint32_t size;
	uint16_t key;
};

/* Read the directory through the data port. */
static unsigned read_dir(struct dm *dm, struct file *f, unsigned cap)
{
	uint8_t hdr[4], e[64];
	unsigned n, i, j;

	read_bytes(dm, FW_CFG_FILE_DIR, hdr, 4);
	n = be32(hdr);
	for (i = 0; i < n && i < cap; i++) {
		for (j = 0; j < 64; j++)
			e[j] = (uint8_t)io_in(dm, FW_CFG_PORT_DATA, 1);
		f[i].size = be32(e);
		f[i].key = (uint16_t)(e[4] << 8 | e[5]);
		memcpy(f[i].name, e + 8, 56);
		f[i].name[56] = 0;
	}
	return n;
}

static const struct file *find(const struct file *f, unsigned n, const char *name)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (!strcmp(f[i].name, name))
			return &f[i];
	return NULL;
}

static struct dm *new_dm(uint64_t ram, struct dev **d, const char *opts)
{
	struct dm *dm = NULL;

	CHECK_EQ(dm_create_standalone(ram, &dm), 0);
	if (d)
		CHECK_EQ(dev_create(dm, "fw_cfg", opts, d), 0);
	return dm;
}

static void test_signature_id_dir(void)
{
	struct file f[40];
	struct dev *d;
	struct dm *dm = new_dm(128 << 20, &d, NULL);
	uint8_t sig[5] = { 0 };
	unsigned n, i;

	read_bytes(dm, FW_CFG_SIGNATURE, sig, 4);
	CHECK(!memcmp(sig, "QEMU", 4));
	/* Past the end the data port reads 0. */
	CHECK_EQ(io_in(dm, FW_CFG_PORT_DATA, 1), 0);
	CHECK_EQ(read_le(dm, FW_CFG_ID, 4), FW_CFG_VERSION | FW_CFG_VERSION_DMA);
	CHECK_EQ(read_le(dm, FW_CFG_RAM_SIZE, 8), 128ull << 20);
	CHECK_EQ(read_le(dm, FW_CFG_NB_CPUS, 2), 1);
	CHECK_EQ(read_le(dm, FW_CFG_MAX_CPUS, 2), 1);
	CHECK_EQ(read_le(dm, FW_CFG_BOOT_MENU, 2), 0);
	CHECK_EQ(read_le(dm, FW_CFG_NUMA, 8), 0);
	CHECK_EQ(read_le(dm, FW_CFG_IRQ0_OVERRIDE, 4), 1);
	/* 0x510 is part of the data region for reads, as in QEMU. */
	sel(dm, FW_CFG_SIGNATURE);
	CHECK_EQ(io_in(dm, FW_CFG_PORT_SEL, 1), 'Q');
	CHECK_EQ(io_in(dm, FW_CFG_PORT_DATA, 1), 'E');
	/* A byte write to the selector is a data write and changes nothing. */
	io_out(dm, FW_CFG_PORT_SEL, 1, FW_CFG_ID);
	CHECK_EQ(io_in(dm, FW_CFG_PORT_DATA, 1), 'M');
	/* The DMA register reads "QEMU CFG". */
	CHECK_EQ(io_in(dm, FW_CFG_PORT_DMA, 4), 0x554d4551);
	CHECK_EQ(io_in(dm, FW_CFG_PORT_DMA + 4, 4), 0x47464320);

	n = read_dir(dm, f, 40);
	CHECK(n >= 5 && n <= FW_CFG_FILE_SLOTS);
	for (i = 0; i < n && i < 40; i++) {
		uint8_t *buf = malloc(f[i].size + 1);
		uint32_t len = 0;
		const uint8_t *want = fw_cfg_file(fw_cfg_of(d), f[i].name, &len);

		CHECK_EQ(f[i].key, FW_CFG_FILE_FIRST + i);
		if (i)
			CHECK(strcmp(f[i - 1].name, f[i].name) < 0);
		CHECK_EQ(len, f[i].size);
		read_bytes(dm, f[i].key, buf, f[i].size);
		CHECK(!f[i].size || (want && !memcmp(buf, want, f[i].size)));
		free(buf);
	}
	CHECK(find(f, n, "etc/e820") != NULL);
	CHECK(find(f, n, "bootorder") != NULL);
	CHECK(find(f, n, "etc/boot-menu-wait") != NULL);
	CHECK(find(f, n, "etc/smbios/smbios-tables") != NULL);
	CHECK(find(f, n, "etc/smbios/smbios-anchor") != NULL);
	CHECK(find(f, n, "etc/table-loader") == NULL); /* no -acpi */
	/* Selectors out of range or unused read 0. */
	sel(dm, 0x7fff);
	CHECK_EQ(io_in(dm, FW_CFG_PORT_DATA, 1), 0);
	sel(dm, FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS);
	CHECK_EQ(io_in(dm, FW_CFG_PORT_DATA, 1), 0);
	sel(dm, 0x06);
	CHECK_EQ(io_in(dm, FW_CFG_PORT_DATA, 1), 0);
	sel(dm, 0xffff);
	CHECK_EQ(io_in(dm, FW_CFG_PORT_DATA, 1), 0);
	dm_destroy(dm);
}

static void check_e820(struct dm *dm, const struct fw_cfg_e820 *want, unsigned n)
{
	struct file f[40];
	unsigned nf = read_dir(dm, f, 40), i;
	const struct file *e = find(f, nf, "etc/e820");
	struct fw_cfg_e820 got[8];

	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_EQ(e->size, n * sizeof(struct fw_cfg_e820));
	if (e->size > sizeof(got))
		return;
	read_bytes(dm, e->key, (uint8_t *)got, e->size);
	for (i = 0; i < n; i++) {
		CHECK_EQ(got[i].address, want[i].address);
		CHECK_EQ(got[i].length, want[i].length);
		CHECK_EQ(got[i].type, want[i].type);
	}
}

static void test_e820(void)
{
	static const struct fw_cfg_e820 small[] = {
		{ 0, 128ull << 20, E820_RAM },
		{ 0xfeffc000, 0x4000, E820_RESERVED },
	};
	static const struct fw_cfg_e820 big[] = {
		{ 0, 3ull << 30, E820_RAM },
		{ 0xfeffc000, 0x4000, E820_RESERVED },
		{ 1ull << 32, 2ull << 30, E820_RAM },
	};
	struct dev *d;
	struct dm *dm = new_dm(128 << 20, &d, NULL);

	check_e820(dm, small, 2);
	dm_destroy(dm);
	/* 5 GiB: the layout comes from the hypervisor's setup info. */
	dm = new_dm(1 << 20, NULL, NULL);
	dm->info.ram_below_4g = 3ull << 30;
	dm->info.ram_above_4g = 2ull << 30;
	dm->info.nr_vcpus = 2;
	CHECK_EQ(dev_create(dm, "fw_cfg", NULL, &d), 0);
	check_e820(dm, big, 3);
	CHECK_EQ(read_le(dm, FW_CFG_RAM_SIZE, 8), 5ull << 30);
	CHECK_EQ(read_le(dm, FW_CFG_NB_CPUS, 2), 2);
	dm_destroy(dm);
}

/* Write a DMA descriptor at desc and start it with two 32-bit big-endian writes. */
static uint32_t dma(struct dm *dm, uint64_t desc, uint32_t control, uint32_t len, uint64_t addr)
{
	struct fw_cfg_dma_access a = {
		.control = __builtin_bswap32(control),
		.length = __builtin_bswap32(len),
		.address = __builtin_bswap64(addr),
	};
	uint32_t back = 0xdeadbeef;

	CHECK_EQ(gmem_write(dm, desc, &a, sizeof(a)), 0);
	io_out(dm, FW_CFG_PORT_DMA, 4, __builtin_bswap32((uint32_t)(desc >> 32)));
	io_out(dm, FW_CFG_PORT_DMA + 4, 4, __builtin_bswap32((uint32_t)desc));
	gmem_read(dm, desc, &back, 4);
	return __builtin_bswap32(back);
}

static void test_dma(void)
{
	struct dev *d;
	struct dm *dm = new_dm(16 << 20, &d, NULL);
	uint8_t buf[16];
	uint32_t len;
	const uint8_t *e820 = fw_cfg_file(fw_cfg_of(d), "etc/e820", &len);
	struct file f[40];
	unsigned n = read_dir(dm, f, 40);
	const struct file *fe = find(f, n, "etc/e820");

	/* Select + read the signature into RAM at 0x2000. */
	memset(buf, 0xee, sizeof(buf));
	gmem_write(dm, 0x2000, buf, sizeof(buf));
	CHECK_EQ(dma(dm, 0x1000,
		     FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 4,
		     0x2000),
		 0);
	gmem_read(dm, 0x2000, buf, sizeof(buf));
	CHECK(!memcmp(buf, "QEMU", 4));
	CHECK_EQ(buf[4], 0xee);
	/* Skip 1 then read 8 of the ID (4 bytes): 3 bytes of data then zero fill. */
	CHECK_EQ(dma(dm, 0x1000, FW_CFG_ID << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_SKIP, 1,
		     0),
		 0);
	CHECK_EQ(dma(dm, 0x1000, FW_CFG_DMA_CTL_READ, 8, 0x2000), 0);
	gmem_read(dm, 0x2000, buf, sizeof(buf));
	CHECK_EQ(buf[0], 0);
	CHECK_EQ(buf[3], 0);
	CHECK_EQ(buf[7], 0);
	CHECK_EQ(buf[8], 0xee);
	/* A whole file by DMA matches the file (64-bit DMA address write). */
	if (fe && e820) {
		struct fw_cfg_dma_access a = {
			.control = __builtin_bswap32((uint32_t)fe->key << 16 |
						     FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ),
			.length = __builtin_bswap32(fe->size),
			.address = __builtin_bswap64(0x3000),
		};
		uint8_t got[64];

		gmem_write(dm, 0x1100, &a, sizeof(a));
		io_out(dm, FW_CFG_PORT_DMA, 8, __builtin_bswap64(0x1100));
		gmem_read(dm, 0x3000, got, len);
		CHECK(!memcmp(got, e820, len));
		CHECK_EQ(gmem_read_u8(dm, 0x1100, buf), 0);
		CHECK_EQ(buf[0], 0);
	}
	/* Target outside RAM: error bit, nothing else happens. */
	CHECK_EQ(dma(dm, 0x1000,
		     FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 4,
		     0x7000000000ull),
		 FW_CFG_DMA_CTL_ERROR);
	/* Straddling the end of RAM. */
	CHECK_EQ(dma(dm, 0x1000,
		     FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 4,
		     (16 << 20) - 2),
		 FW_CFG_DMA_CTL_ERROR);
	/* A 4 GiB - 1 zero-fill read of an invalid key stops at the end of RAM. */
	CHECK_EQ(dma(dm, 0x1000, 0x7fffu << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
		     0xffffffffu, 0x100000),
		 FW_CFG_DMA_CTL_ERROR);
	/* Writes are refused. */
	CHECK_EQ(dma(dm, 0x1000, FW_CFG_ID << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 4,
		     0x2000),
		 FW_CFG_DMA_CTL_ERROR);
	read_bytes(dm, FW_CFG_ID, buf, 1);
	CHECK_EQ(buf[0], FW_CFG_VERSION | FW_CFG_VERSION_DMA);
	/* Descriptor outside RAM: ignored without a crash. */
	io_out(dm, FW_CFG_PORT_DMA, 4, __builtin_bswap32(0x10));
	io_out(dm, FW_CFG_PORT_DMA + 4, 4, 0);
	/* Descriptor straddling the end of RAM. */
	io_out(dm, FW_CFG_PORT_DMA, 4, 0);
	io_out(dm, FW_CFG_PORT_DMA + 4, 4, __builtin_bswap32((16 << 20) - 8));
	/* No operation bit: length ignored, control cleared. */
	CHECK_EQ(dma(dm, 0x1000, 0, 100, 0x7000000000ull), 0);
	dm_destroy(dm);

	/* dma=off: ID without the DMA bit and no register. */
	dm = new_dm(1 << 20, &d, "dma=off");
	CHECK_EQ(read_le(dm, FW_CFG_ID, 4), FW_CFG_VERSION);
	CHECK_EQ(io_in(dm, FW_CFG_PORT_DMA, 4), 0xffffffff);
	dm_destroy(dm);
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/*
 * Cross-check with dmidecode when installed: a --dump-bin image (entry
 * point at 0, table at 0x20) must decode as SMBIOS 2.8 with every structure
 * and nothing reported as invalid or truncated.
 */
static void check_with_dmidecode(const uint8_t *anchor, const uint8_t *tables, uint32_t tlen,
				 unsigned count)
{
	char path[] = "/tmp/hvmdm-smbios-XXXXXX", cmd[256], line[256], want[64];
	uint8_t ep[32] = { 0 };
	bool present = false, counted = false, bad = false;
	FILE *out;
	int fd;

	if (system("command -v dmidecode >/dev/null 2>&1")) {
		printf("# dmidecode not installed: SMBIOS checked by the built-in walk only\n");
		return;
	}
	memcpy(ep, anchor, 31);
	ep[24] = 0x20; /* table address in the dump */
	ep[21] = 0;
	ep[21] = (uint8_t)-sum8(ep + 16, 15);
	ep[4] = 0;
	ep[4] = (uint8_t)-sum8(ep, 31);
	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, ep, 32) == 32 && write(fd, tables, tlen) == (ssize_t)tlen);
	close(fd);
	snprintf(cmd, sizeof(cmd), "dmidecode --from-dump %s 2>&1", path);
	snprintf(want, sizeof(want), "%u structures occupying %u bytes.", count, tlen);
	out = popen(cmd, "r");
	CHECK(out != NULL);
	while (out && fgets(line, sizeof(line), out)) {
		present |= !strncmp(line, "SMBIOS 2.8 present.", 19);
		counted |= !strncmp(line, want, strlen(want));
		bad |= strstr(line, "nvalid") || strstr(line, "runcated") ||
		       strstr(line, "<OUT OF SPEC>") || strstr(line, "Wrong");
	}
	if (out)
		pclose(out);
	unlink(path);
	CHECK(present);
	CHECK(counted);
	CHECK(!bad);
}

static void test_smbios(void)
{
	struct dev *d;
	struct dm *dm = new_dm(1 << 20, NULL, NULL);
	const uint8_t *a, *t, *p;
	uint32_t alen, tlen;
	unsigned count = 0, types = 0, maxsz = 0, cpus = 0;
	bool saw_uuid = false;

	dm->cfg.uuid = (char *)"12345678-9abc-def0-1122-334455667788";
	dm->cfg.name = (char *)"guest1";
	dm->info.nr_vcpus = 3;
	dm->info.ram_below_4g = 3ull << 30;
	dm->info.ram_above_4g = 30ull << 30;
	CHECK_EQ(dev_create(dm, "fw_cfg", NULL, &d), 0);
	a = fw_cfg_file(fw_cfg_of(d), "etc/smbios/smbios-anchor", &alen);
	t = fw_cfg_file(fw_cfg_of(d), "etc/smbios/smbios-tables", &tlen);
	CHECK(a && t);
	if (!a || !t)
		goto out;
	CHECK_EQ(alen, 31);
	CHECK(!memcmp(a, "_SM_", 4) && !memcmp(a + 16, "_DMI_", 5));
	CHECK_EQ(sum8(a, 31), 0);
	CHECK_EQ(sum8(a + 16, 15), 0);
	CHECK_EQ(a[22] | a[23] << 8, tlen);
	/* Walk the structures: formatted part then strings ending in a double NUL. */
	for (p = t; p < t + tlen;) {
		const uint8_t *s = p + p[1], *start = p;

		CHECK(p[1] >= 4 && s < t + tlen);
		while (s + 1 < t + tlen && (s[0] || s[1]))
			s++;
		s += 2;
		if (p[0] == 1) {
			static const uint8_t want[16] = { 0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a,
							  0xf0, 0xde, 0x11, 0x22, 0x33, 0x44,
							  0x55, 0x66, 0x77, 0x88 };

			saw_uuid = !memcmp(p + 8, want, 16) && memmem(p, s - p, "guest1", 6);
		}
		if (p[0] == 4)
			cpus++;
		if (p[0] < 32)
			types |= 1u << p[0];
		if ((unsigned)(s - start) > maxsz)
			maxsz = (unsigned)(s - start);
		count++;
		if (p[0] == 127) {
			p = s;
			break;
		}
		p = s;
	}
	CHECK(p == t + tlen);
	CHECK_EQ(count, (unsigned)(a[28] | a[29] << 8));
	CHECK_EQ(maxsz, (unsigned)(a[8] | a[9] << 8));
	CHECK_EQ(types, (1u << 0) | (1u << 1) | (1u << 3) | (1u << 4) | (1u << 16) | (1u << 17) |
				(1u << 19));
	CHECK_EQ(cpus, 3);
	CHECK(saw_uuid);
	check_with_dmidecode(a, t, tlen, count);
	/* The UUID item is in RFC 4122 order. */
	{
		uint8_t u[16];

		read_bytes(dm, FW_CFG_UUID, u, 16);
		CHECK_EQ(u[0], 0x12);
		CHECK_EQ(u[15], 0x88);
	}
out:
	dm_destroy(dm);
}

/* An empty domain name must not end a structure's strings early. */
static void test_smbios_empty_name(void)
{
	struct dev *d;
	struct dm *dm = new_dm(1 << 20, NULL, NULL);
	const uint8_t *a, *t, *p;
	uint32_t alen, tlen;
	unsigned count = 0;

	dm->cfg.name = (char *)"";
	CHECK_EQ(dev_create(dm, "fw_cfg", NULL, &d), 0);
	a = fw_cfg_file(fw_cfg_of(d), "etc/smbios/smbios-anchor", &alen);
	t = fw_cfg_file(fw_cfg_of(d), "etc/smbios/smbios-tables", &tlen);
	CHECK(a && t);
	/* Walk as Linux's dmi_decode_table() does; every structure type must be known. */
	for (p = t; a && t && p + 4 <= t + tlen && count < 64;) {
		const uint8_t *s = p + p[1];

		CHECK(p[0] <= 32 || p[0] == 127);
		while (s + 1 < t + tlen && (s[0] || s[1]))
			s++;
		p = s + 2;
		count++;
	}
	CHECK(a && count == (unsigned)(a[28] | a[29] << 8));
	dm_destroy(dm);
}

static void test_acpi_files(void)
{
	struct file f[40];
	struct dm *dm = new_dm(64 << 20, NULL, NULL);
	struct dev *d;
	unsigned n;

	dm->cfg.acpi = true;
	CHECK_EQ(dev_create(dm, "fw_cfg", NULL, &d), 0);
	n = read_dir(dm, f, 40);
	CHECK(find(f, n, "etc/table-loader") && find(f, n, "etc/acpi/tables") &&
	      find(f, n, "etc/acpi/rsdp"));
	CHECK_EQ(find(f, n, "etc/acpi/rsdp") ? find(f, n, "etc/acpi/rsdp")->size : 0, 36);
	CHECK_EQ(find(f, n, "etc/table-loader") ? find(f, n, "etc/table-loader")->size % 128 : 1,
		 0);
	dm_destroy(dm);
}

/* A synthetic bzImage: protocol 2.15, 2 setup sectors + boot sector, 8 KiB body. */
static int write_kernel(const char *path, uint8_t setup_sects, uint16_t protocol)
{
	size_t setup = ((size_t)setup_sects + 1) * 512, size = setup + 8192, i;
	uint8_t *k = calloc(1, size);
	FILE *fp;

	if (!k)
		return -1;
	k[0x1f1] = setup_sects;
	memcpy(k + 0x202, "HdrS", 4);
	k[0x206] = (uint8_t)protocol;
	k[0x207] = (uint8_t)(protocol >> 8);
	k[0x211] = 0x01; /* LOADED_HIGH */
	k[0x22c] = 0xff; /* initrd_addr_max 0x37ffffff */
	k[0x22d] = 0xff;
	k[0x22e] = 0xff;
	k[0x22f] = 0x37;
	for (i = setup; i < size; i++)
		k[i] = (uint8_t)(i * 7);
	fp = fopen(path, "wb");
	if (!fp || fwrite(k, 1, size, fp) != size) {
		free(k);
		if (fp)
			fclose(fp);
		return -1;
	}
	fclose(fp);
	free(k);
	return 0;
}

static void test_linux_boot(void)
{
	char kpath[] = "/tmp/hvmdm-test-kernelXXXXXX", ipath[] = "/tmp/hvmdm-test-initrdXXXXXX";
	char rpath[] = "/tmp/hvmdm-test-romXXXXXX";
	int kfd = mkstemp(kpath), ifd = mkstemp(ipath), rfd = mkstemp(rpath);
	uint8_t setup[1536], body[64], boot[64] = { 0 };
	struct dm *dm = new_dm(128 << 20, NULL, NULL);
	struct dev *d;
	char opts[128];
	uint32_t initrd_size = 100000, len;
	uint8_t *ird = calloc(1, initrd_size);

	CHECK(kfd >= 0 && ifd >= 0 && rfd >= 0 && ird);
	CHECK_EQ(write_kernel(kpath, 2, 0x020f), 0);
	CHECK_EQ(write(ifd, ird, initrd_size), (ssize_t)initrd_size);
	CHECK_EQ(write(rfd, "\x55\xaa\x01", 3), 3);
	dm->cfg.kernel = kpath;
	dm->cfg.initrd = ipath;
	dm->cfg.append = (char *)"console=ttyS0";
	snprintf(opts, sizeof(opts), "linuxboot=%s", rpath);
	CHECK_EQ(dev_create(dm, "fw_cfg", opts, &d), 0);
	CHECK_EQ(read_le(dm, FW_CFG_SETUP_ADDR, 4), 0x10000);
	CHECK_EQ(read_le(dm, FW_CFG_SETUP_SIZE, 4), 1536);
	CHECK_EQ(read_le(dm, FW_CFG_KERNEL_ADDR, 4), 0x100000);
	CHECK_EQ(read_le(dm, FW_CFG_KERNEL_SIZE, 4), 8192);
	CHECK_EQ(read_le(dm, FW_CFG_CMDLINE_ADDR, 4), 0x20000);
	CHECK_EQ(read_le(dm, FW_CFG_CMDLINE_SIZE, 4), 14);
	CHECK_EQ(read_le(dm, FW_CFG_INITRD_SIZE, 4), initrd_size);
	/* initrd at the top of RAM below 128 MiB - 0x28000, page aligned. */
	CHECK_EQ(read_le(dm, FW_CFG_INITRD_ADDR, 4),
		 ((128u << 20) - 0x28000 - 1 - initrd_size) & ~4095u);
	read_bytes(dm, FW_CFG_SETUP_DATA, setup, sizeof(setup));
	CHECK(!memcmp(setup + 0x202, "HdrS", 4));
	CHECK_EQ(setup[0x210], 0xb0);
	CHECK_EQ(setup[0x211], 0x81);
	CHECK_EQ(setup[0x228] | setup[0x229] << 8 | setup[0x22a] << 16, 0x20000);
	CHECK_EQ(setup[0x224] | setup[0x225] << 8, 0x20000 - 0x10000 - 0x200);
	CHECK_EQ(setup[0x21c] | setup[0x21d] << 8 | setup[0x21e] << 16, initrd_size);
	read_bytes(dm, FW_CFG_KERNEL_DATA, body, sizeof(body));
	CHECK_EQ(body[0], (uint8_t)(1536 * 7));
	CHECK_EQ(body[63], (uint8_t)((1536 + 63) * 7));
	{
		char cmd[32] = { 0 };

		read_bytes(dm, FW_CFG_CMDLINE_DATA, (uint8_t *)cmd, 14);
		CHECK(!strcmp(cmd, "console=ttyS0"));
	}
	CHECK(fw_cfg_file(fw_cfg_of(d), "genroms/linuxboot_dma.bin", &len) && len == 3);
	{
		const uint8_t *bo = fw_cfg_file(fw_cfg_of(d), "bootorder", &len);

		CHECK(bo && len < sizeof(boot));
		if (bo && len < sizeof(boot))
			memcpy(boot, bo, len);
		CHECK(!strcmp((char *)boot, "/rom@genroms/linuxboot_dma.bin"));
	}
	dm_destroy(dm);

	/* Not a bzImage: creation fails cleanly. */
	dm = new_dm(16 << 20, NULL, NULL);
	dm->cfg.kernel = ipath;
	CHECK(dev_create(dm, "fw_cfg", NULL, &d) < 0);
	dm_destroy(dm);
	/* setup_sects larger than the file. */
	CHECK_EQ(write_kernel(kpath, 100, 0x020f), 0);
	CHECK_EQ(truncate(kpath, 4096), 0);
	dm = new_dm(16 << 20, NULL, NULL);
	dm->cfg.kernel = kpath;
	CHECK(dev_create(dm, "fw_cfg", opts, &d) < 0);
	dm_destroy(dm);
	/* Protocol 2.01: real mode at 0x90000, command line below 0x9A000. */
	CHECK_EQ(write_kernel(kpath, 2, 0x0201), 0);
	dm = new_dm(16 << 20, NULL, NULL);
	dm->cfg.kernel = kpath;
	dm->cfg.append = (char *)"x";
	CHECK_EQ(dev_create(dm, "fw_cfg", opts, &d), 0);
	CHECK_EQ(read_le(dm, FW_CFG_SETUP_ADDR, 4), 0x90000);
	CHECK_EQ(read_le(dm, FW_CFG_CMDLINE_ADDR, 4), 0x9a000 - 2);
	read_bytes(dm, FW_CFG_SETUP_DATA, setup, sizeof(setup));
	CHECK_EQ(setup[0x20] | setup[0x21] << 8, 0xa33f);
	CHECK_EQ(setup[0x22] | setup[0x23] << 8, 0xa000 - 2);
	dm_destroy(dm);

	unlink(kpath);
	unlink(ipath);
	unlink(rpath);
	close(kfd);
	close(ifd);
	close(rfd);
	free(ird);
}

/* Random selector, data and DMA traffic, descriptors anywhere: no crash, state intact. */
static void test_hostile(void)
{
	struct dev *d;
	struct dm *dm = new_dm(1 << 20, &d, NULL);
	uint64_t x = 0x9e3779b97f4a7c15ull, addr;
	unsigned i;

	for (i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		switch (x % 6) {
		case 0:
			sel(dm, (uint16_t)(x >> 8));
			break;
		case 1:
			io_in(dm, FW_CFG_PORT_DATA, 1);
			break;
		case 2:
			io_out(dm, (uint16_t)(FW_CFG_PORT_SEL + (x >> 8) % 12),
			       1 << ((x >> 12) % 3), x >> 16);
			break;
		case 3: /* a random descriptor in RAM, pointing anywhere near RAM */
			addr = (x >> 8) % (1 << 20);
			dma(dm, addr & ~15ull, (uint32_t)(x >> 20), (uint32_t)(x >> 40) % 0x200000,
			    (x >> 28) % (3 << 20));
			break;
		case 4:
			io_in(dm, (uint16_t)(FW_CFG_PORT_SEL + (x >> 8) % 12),
			      1 << ((x >> 12) % 3));
			break;
		default: /* descriptor address anywhere in 64 bits */
			io_out(dm, FW_CFG_PORT_DMA, 4, x >> 32);
			io_out(dm, FW_CFG_PORT_DMA + 4, 4, (uint32_t)x);
			break;
		}
	}
	CHECK_EQ(read_le(dm, FW_CFG_ID, 4), FW_CFG_VERSION | FW_CFG_VERSION_DMA);
	CHECK_EQ(read_le(dm, FW_CFG_RAM_SIZE, 8), 1 << 20);
	dm_destroy(dm);
}

int main(void)
{
	test_hostile();
	test_signature_id_dir();
	test_e820();
	test_dma();
	test_smbios();
	test_smbios_empty_name();
	test_acpi_files();
	test_linux_boot();
	return tap_done();
}
