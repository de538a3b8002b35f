/* SPDX-License-Identifier: MIT */
/*
 * acpi_tables.h - ACPI tables of the "pc" machine, handed to SeaBIOS through
 * fw_cfg as QEMU does: etc/acpi/tables, etc/acpi/rsdp and the linker/loader
 * script etc/table-loader.
 */
#ifndef HW_PC_ACPI_TABLES_H
#define HW_PC_ACPI_TABLES_H

#include <stdint.h>

#define ACPI_FILE_TABLES "etc/acpi/tables"
#define ACPI_FILE_RSDP "etc/acpi/rsdp"
#define ACPI_FILE_LOADER "etc/table-loader"

/* Fixed hardware the tables describe (PIIX4 PM as SeaBIOS programs it). */
#define ACPI_PM_BASE 0x600
#define ACPI_PM1A_EVT (ACPI_PM_BASE + 0)
#define ACPI_PM1A_CNT (ACPI_PM_BASE + 4)
#define ACPI_PM_TMR (ACPI_PM_BASE + 8)
#define ACPI_GPE0_BLK 0xafe0
#define ACPI_GPE0_LEN 4
#define ACPI_SCI_IRQ 9
#define ACPI_SMI_CMD 0xb2
#define ACPI_ENABLE_VAL 0xf1
#define ACPI_DISABLE_VAL 0xf0
#define ACPI_RESET_PORT 0xcf9
#define ACPI_RESET_VAL 0x06
#define ACPI_IOAPIC_ADDR 0xfec00000u
#define ACPI_LAPIC_ADDR 0xfee00000u

/* Linker/loader commands (QEMU hw/acpi/bios-linker-loader.c), 128 bytes each. */
#define ACPI_LOADER_ALLOCATE 1
#define ACPI_LOADER_ADD_POINTER 2
#define ACPI_LOADER_ADD_CHECKSUM 3
#define ACPI_LOADER_ENTRY_SIZE 128
#define ACPI_LOADER_ZONE_HIGH 1
#define ACPI_LOADER_ZONE_FSEG 2

struct acpi_tables {
	uint8_t *tables;
	uint32_t tables_len;
	uint8_t *rsdp;
	uint32_t rsdp_len;
	uint8_t *loader;
	uint32_t loader_len;
};

/*
 * Build the tables for nr_cpus processors (LAPIC id = vCPU index) and the
 * given RAM below 4 GiB (start of the PCI window).  Pointers inside the
 * blobs are offsets within etc/acpi/tables, patched by the loader script;
 * every checksum is already correct for a load at address 0.  0 or -ENOMEM.
 */
int acpi_build(unsigned nr_cpus, uint64_t below_4g, struct acpi_tables *out);
void acpi_tables_free(struct acpi_tables *t);

#endif /* HW_PC_ACPI_TABLES_H */
