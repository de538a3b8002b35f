/* SPDX-License-Identifier: MIT */
/*
 * fw_cfg.h - QEMU's firmware configuration interface (device type
 * "fw_cfg"): selector keys, DMA control bits, and the calls other parts of
 * the machine use to publish items.  Format: QEMU docs/specs/fw_cfg.rst.
 */
#ifndef HW_PC_FW_CFG_H
#define HW_PC_FW_CFG_H

#include <stddef.h>
#include <stdint.h>

struct dev;
struct fw_cfg;

#define FW_CFG_PORT_SEL 0x510 /* 16-bit selector; the data byte is at 0x511 */
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_PORT_DMA 0x514 /* 64-bit big-endian DMA address (0x514 high, 0x518 low) */

/* Selector keys. */
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID 0x01
#define FW_CFG_UUID 0x02
#define FW_CFG_RAM_SIZE 0x03
#define FW_CFG_NOGRAPHIC 0x04
#define FW_CFG_NB_CPUS 0x05
#define FW_CFG_KERNEL_ADDR 0x07
#define FW_CFG_KERNEL_SIZE 0x08
#define FW_CFG_KERNEL_CMDLINE 0x09
#define FW_CFG_INITRD_ADDR 0x0a
#define FW_CFG_INITRD_SIZE 0x0b
#define FW_CFG_BOOT_DEVICE 0x0c
#define FW_CFG_NUMA 0x0d
#define FW_CFG_BOOT_MENU 0x0e
#define FW_CFG_MAX_CPUS 0x0f
#define FW_CFG_KERNEL_ENTRY 0x10
#define FW_CFG_KERNEL_DATA 0x11
#define FW_CFG_INITRD_DATA 0x12
#define FW_CFG_CMDLINE_ADDR 0x13
#define FW_CFG_CMDLINE_SIZE 0x14
#define FW_CFG_CMDLINE_DATA 0x15
#define FW_CFG_SETUP_ADDR 0x16
#define FW_CFG_SETUP_SIZE 0x17
#define FW_CFG_SETUP_DATA 0x18
#define FW_CFG_FILE_DIR 0x19
#define FW_CFG_FILE_FIRST 0x20
#define FW_CFG_FILE_SLOTS 0x20
#define FW_CFG_MAX_ENTRY (FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS)
#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ARCH_LOCAL 0x8000
#define FW_CFG_ENTRY_MASK 0x3fff
/* x86 keys (arch-local). */
#define FW_CFG_ACPI_TABLES (FW_CFG_ARCH_LOCAL + 0)
#define FW_CFG_SMBIOS_ENTRIES (FW_CFG_ARCH_LOCAL + 1)
#define FW_CFG_IRQ0_OVERRIDE (FW_CFG_ARCH_LOCAL + 2)
#define FW_CFG_E820_TABLE (FW_CFG_ARCH_LOCAL + 3)

/* FW_CFG_ID bits. */
#define FW_CFG_VERSION 0x01
#define FW_CFG_VERSION_DMA 0x02

/* DMA access control word (big-endian, first field of struct fw_cfg_dma_access). */
#define FW_CFG_DMA_CTL_ERROR 0x01
#define FW_CFG_DMA_CTL_READ 0x02
#define FW_CFG_DMA_CTL_SKIP 0x04
#define FW_CFG_DMA_CTL_SELECT 0x08
#define FW_CFG_DMA_CTL_WRITE 0x10
#define FW_CFG_DMA_SIGNATURE "QEMU CFG" /* read back at 0x514 */

#define FW_CFG_FILE_NAME_MAX 56

/* In guest memory: {be32 control, be32 length, be64 address}. */
struct fw_cfg_dma_access {
	uint32_t control;
	uint32_t length;
	uint64_t address;
} __attribute__((packed));

/* One etc/e820 entry (little-endian). */
struct fw_cfg_e820 {
	uint64_t address;
	uint64_t length;
	uint32_t type;
} __attribute__((packed));
#define E820_RAM 1
#define E820_RESERVED 2

/* The fw_cfg state of a device of type "fw_cfg". */
struct fw_cfg *fw_cfg_of(struct dev *d);

/*
 * Publish an item; fw_cfg takes ownership of data (malloc'ed) in every case.
 * A key may be set once.  0, -EEXIST, -ENOSPC, -EINVAL or -ENOMEM.
 */
int fw_cfg_add_bytes(struct fw_cfg *s, uint16_t key, void *data, uint32_t len);
int fw_cfg_add_u16(struct fw_cfg *s, uint16_t key, uint16_t v);
int fw_cfg_add_u32(struct fw_cfg *s, uint16_t key, uint32_t v);
int fw_cfg_add_u64(struct fw_cfg *s, uint16_t key, uint64_t v);
/* A named file; the directory stays sorted by name, keys follow that order. */
int fw_cfg_add_file(struct fw_cfg *s, const char *name, void *data, uint32_t len);
/* Contents of a file (tests), or NULL. */
const uint8_t *fw_cfg_file(struct fw_cfg *s, const char *name, uint32_t *len);

/* Direct Linux boot items (fw_cfg_linux.c): bzImage split as QEMU does it. */
int fw_cfg_load_linux(struct fw_cfg *s, const char *kernel, const char *initrd, const char *cmdline,
		      uint64_t below_4g, const char *rom_path);

#endif /* HW_PC_FW_CFG_H */
