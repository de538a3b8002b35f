/* SPDX-License-Identifier: MIT */
/*
 * smbios.h - SMBIOS 2.8 tables of the "pc" machine (DMTF DSP0134), handed to
 * SeaBIOS as etc/smbios/smbios-tables and etc/smbios/smbios-anchor.
 */
#ifndef HW_PC_SMBIOS_H
#define HW_PC_SMBIOS_H

#include <stdint.h>

#define SMBIOS_ANCHOR_LEN 31 /* 2.1 entry point */

struct smbios_info {
	const uint8_t *uuid; /* 16 bytes in RFC 4122 (big-endian) order */
	const char *product; /* system product name (domain name) */
	unsigned nr_cpus;
	uint64_t below_4g, above_4g;
};

/* Build the structure table and its entry point; 0 or -ENOMEM. */
int smbios_build(const struct smbios_info *info, uint8_t **tables, uint32_t *tables_len,
		 uint8_t **anchor, uint32_t *anchor_len);

#endif /* HW_PC_SMBIOS_H */
