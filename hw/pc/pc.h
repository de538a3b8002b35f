/* SPDX-License-Identifier: MIT */
/*
 * pc.h - facts about the "pc" machine shared by its platform devices: the
 * guest RAM layout and the ISA interrupt assignments.
 */
#ifndef HW_PC_PC_H
#define HW_PC_PC_H

#include <stdint.h>

struct dm;

#define PC_LOW_RAM_MAX 0xc0000000ull  /* RAM below 4 GiB ends here at most (3 GiB) */
#define PC_PCI_HOLE_END 0xfec00000ull /* first address above the PCI window (IOAPIC) */
#define PC_4G 0x100000000ull

/*
 * RAM below and above 4 GiB.  Taken from the hypervisor's setup info when
 * attached; otherwise derived from -m the way QEMU's "pc" machine splits it
 * (everything below 4 GiB up to 3.5 GiB, else 3 GiB below and the rest
 * above).
 */
void pc_ram_layout(const struct dm *dm, uint64_t *below_4g, uint64_t *above_4g);
/* Number of vCPUs (setup info when attached, else -vcpus), at least 1. */
unsigned pc_nr_vcpus(const struct dm *dm);

#endif /* HW_PC_PC_H */
