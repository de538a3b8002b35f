// SPDX-License-Identifier: MIT
/*
 * fw_cfg_linux.c - direct Linux boot (-kernel/-initrd/-append) through
 * fw_cfg, the way QEMU's x86 machines hand a bzImage to SeaBIOS.
 *
 * The kernel's real-mode setup (boot sector + setup_sects sectors) and the
 * protected-mode body become separate items (SETUP_* and KERNEL_*), the
 * command line and initrd get their own items, and the setup header is
 * patched as a boot loader would (Linux Documentation/x86/boot.rst:
 * type_of_loader, cmd_line_ptr or the old 0x20 command-line magic,
 * heap_end_ptr with CAN_USE_HEAP, ramdisk_image/size).  Load addresses
 * follow the boot protocol version exactly as QEMU chooses them.  The
 * option ROM genroms/linuxboot_dma.bin (Debian's qemu-system-data package)
 * copies the items into place with fw_cfg DMA and jumps to the kernel; the
 * bootorder file names it first.
 * Not supported: multiboot and ELF (PVH) kernels, setup_data (DTB, RNG
 * seed), vga= mode setting.
 */
#include "fw_cfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

#define MOD "fw_cfg"
#define LINUX_MAX_FILE (1ull << 30)  /* a kernel or initrd larger than 1 GiB is refused */
#define LINUX_HDR_MAGIC 0x53726448   /* "HdrS" at 0x202 */
#define LINUX_ACPI_DATA_SIZE 0x28000 /* kept free below the top of low RAM (QEMU) */
#define LINUX_LOADED_HIGH 0x01
#define LINUX_CAN_USE_HEAP 0x80

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

/* Read a whole file (at most LINUX_MAX_FILE bytes). */
static int read_file(const char *path, uint8_t **out, uint32_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf;
	int err = 0;

	if (!f) {
		err = -errno;
		dm_err(MOD, "%s: %s", path, strerror(errno));
		return err;
	}
	if (fstat(fileno(f), &st) || st.st_size < 0 || (uint64_t)st.st_size > LINUX_MAX_FILE) {
		dm_err(MOD, "%s: not a regular file of at most 1 GiB", path);
		fclose(f);
		return -EFBIG;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		dm_err(MOD, "%s: short read", path);
		free(buf);
		fclose(f);
		return -EIO;
	}
	fclose(f);
	*out = buf;
	*len = (uint32_t)st.st_size;
	return 0;
}

struct linux_layout {
	uint32_t real_addr, cmdline_addr, prot_addr, initrd_max;
};

/* Load addresses by protocol version (QEMU x86_load_linux). */
static void linux_layout(const uint8_t *hdr, uint16_t protocol, uint32_t cmdline_size,
			 uint64_t below_4g, struct linux_layout *l)
{
	if (protocol < 0x200 || !(hdr[0x211] & LINUX_LOADED_HIGH)) {
		l->real_addr = 0x90000;
		l->cmdline_addr = 0x9a000 - cmdline_size;
		l->prot_addr = 0x10000;
	} else if (protocol < 0x202) {
		l->real_addr = 0x90000;
		l->cmdline_addr = 0x9a000 - cmdline_size;
		l->prot_addr = 0x100000;
	} else {
		l->real_addr = 0x10000;
		l->cmdline_addr = 0x20000;
		l->prot_addr = 0x100000;
	}
	l->initrd_max = protocol >= 0x203 ? get_le32(hdr + 0x22c) : 0x37ffffff;
	if (below_4g > LINUX_ACPI_DATA_SIZE && l->initrd_max >= below_4g - LINUX_ACPI_DATA_SIZE)
		l->initrd_max = (uint32_t)(below_4g - LINUX_ACPI_DATA_SIZE - 1);
}

static int linux_add_initrd(struct fw_cfg *s, const char *initrd, const struct linux_layout *l,
			    uint8_t *hdr)
{
	uint8_t *data;
	uint32_t size, addr;
	int err;

	err = read_file(initrd, &data, &size);
	if (err)
		return err;
	if (size > l->initrd_max) {
		dm_err(MOD, "initrd %s (%u bytes) does not fit below 0x%x", initrd, size,
		       l->initrd_max);
		free(data);
		return -EFBIG;
	}
	addr = (l->initrd_max - size) & ~4095u;
	put_le32(hdr + 0x218, addr);
	put_le32(hdr + 0x21c, size);
	err = fw_cfg_add_u32(s, FW_CFG_INITRD_ADDR, addr);
	if (!err)
		err = fw_cfg_add_u32(s, FW_CFG_INITRD_SIZE, size);
	if (err) {
		free(data);
		return err;
	}
	return fw_cfg_add_bytes(s, FW_CFG_INITRD_DATA, data, size);
}

static int linux_add_cmdline(struct fw_cfg *s, const char *cmdline, const struct linux_layout *l)
{
	char *copy = strdup(cmdline);
	int err;

	if (!copy)
		return -ENOMEM;
	err = fw_cfg_add_u32(s, FW_CFG_CMDLINE_ADDR, l->cmdline_addr);
	if (!err)
		err = fw_cfg_add_u32(s, FW_CFG_CMDLINE_SIZE, (uint32_t)strlen(cmdline) + 1);
	if (err) {
		free(copy);
		return err;
	}
	return fw_cfg_add_bytes(s, FW_CFG_CMDLINE_DATA, copy, (uint32_t)strlen(cmdline) + 1);
}

/* Patch the setup header as a boot loader does (boot.rst, "Details of header fields"). */
static void linux_patch_header(uint8_t *hdr, uint16_t protocol, const struct linux_layout *l)
{
	if (protocol >= 0x202) {
		put_le32(hdr + 0x228, l->cmdline_addr);
	} else {
		put_le16(hdr + 0x20, 0xa33f); /* old command-line protocol magic */
		put_le16(hdr + 0x22, (uint16_t)(l->cmdline_addr - l->real_addr));
	}
	if (protocol >= 0x200)
		hdr[0x210] = 0xb0; /* type_of_loader: QEMU's id */
	if (protocol >= 0x201) {
		hdr[0x211] |= LINUX_CAN_USE_HEAP;
		put_le16(hdr + 0x224, (uint16_t)(l->cmdline_addr - l->real_addr - 0x200));
	}
}

static int linux_add_rom(struct fw_cfg *s, const char *rom_path)
{
	uint8_t *rom;
	uint32_t len;
	int err;

	err = read_file(rom_path, &rom, &len);
	if (err) {
		dm_err(MOD, "direct kernel boot needs %s (Debian package qemu-system-data)",
		       rom_path);
		return err;
	}
	return fw_cfg_add_file(s, "genroms/linuxboot_dma.bin", rom, len);
}

int fw_cfg_load_linux(struct fw_cfg *s, const char *kernel, const char *initrd, const char *cmdline,
		      uint64_t below_4g, const char *rom_path)
{
	struct linux_layout l;
	uint8_t *img, *setup = NULL, *body = NULL;
	uint32_t size, setup_size;
	uint16_t protocol = 0;
	int err;

	err = read_file(kernel, &img, &size);
	if (err)
		return err;
	if (size >= 0x400 && get_le32(img + 0x202) == LINUX_HDR_MAGIC)
		protocol = get_le16(img + 0x206);
	if (size < 0x400 || !protocol) {
		dm_err(MOD, "%s is not a Linux bzImage (only the x86 boot protocol is supported)",
		       kernel);
		err = -ENOEXEC;
		goto out;
	}
	if (!cmdline)
		cmdline = "";
	linux_layout(img, protocol, (uint32_t)strlen(cmdline) + 1, below_4g, &l);
	/* setup_sects 0 means 4 (boot.rst); plus the boot sector itself. */
	setup_size = ((img[0x1f1] ? img[0x1f1] : 4) + 1u) * 512u;
	if (setup_size > size) {
		dm_err(MOD, "%s: setup (%u bytes) larger than the file", kernel, setup_size);
		err = -ENOEXEC;
		goto out;
	}
	linux_patch_header(img, protocol, &l);
	if (initrd && *initrd) {
		err = linux_add_initrd(s, initrd, &l, img);
		if (err)
			goto out;
	}
	err = linux_add_cmdline(s, cmdline, &l);
	if (err)
		goto out;
	setup = malloc(setup_size);
	body = malloc(size - setup_size ? size - setup_size : 1);
	if (!setup || !body) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(setup, img, setup_size);
	memcpy(body, img + setup_size, size - setup_size);
	err = fw_cfg_add_u32(s, FW_CFG_KERNEL_ADDR, l.prot_addr);
	if (!err)
		err = fw_cfg_add_u32(s, FW_CFG_KERNEL_SIZE, size - setup_size);
	if (!err)
		err = fw_cfg_add_bytes(s, FW_CFG_KERNEL_DATA, body, size - setup_size);
	body = NULL;
	if (!err)
		err = fw_cfg_add_u32(s, FW_CFG_SETUP_ADDR, l.real_addr);
	if (!err)
		err = fw_cfg_add_u32(s, FW_CFG_SETUP_SIZE, setup_size);
	if (!err)
		err = fw_cfg_add_bytes(s, FW_CFG_SETUP_DATA, setup, setup_size);
	setup = NULL;
	if (!err)
		err = linux_add_rom(s, rom_path);
	if (!err)
		dm_info(MOD, "direct boot: %s (protocol %u.%02u, setup %u + %u bytes)%s%s", kernel,
			protocol >> 8, protocol & 0xff, setup_size, size - setup_size,
			initrd && *initrd ? ", initrd " : "", initrd && *initrd ? initrd : "");
out:
	free(setup);
	free(body);
	free(img);
	return err;
}
