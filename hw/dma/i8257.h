/* SPDX-License-Identifier: MIT */
/*
 * i8257.h - the PC's ISA DMA controllers (two Intel 8237A-compatible
 * controllers as in the PIIX3: channels 0-3 byte-wide, 4-7 word-wide with
 * channel 4 the cascade).  ISA devices (the floppy controller) move data
 * with i8257_transfer(); the controller does the address/count/page
 * arithmetic, terminal count and auto-initialise.
 */
#ifndef HW_DMA_I8257_H
#define HW_DMA_I8257_H

#include <stdbool.h>
#include <stdint.h>

struct dm;
struct i8257;

/* The dm's DMA controller pair, or NULL when the machine has none. */
struct i8257 *i8257_of(struct dm *dm);

/*
 * Move up to len bytes between buf and guest memory on channel ch for a
 * device: to_mem=true for a device->memory (channel "write" mode) transfer.
 * Stops at terminal count; returns bytes moved, or -1 if the channel is
 * masked or programmed for the other direction.
 */
int i8257_transfer(struct i8257 *d, unsigned ch, uint8_t *buf, uint32_t len, bool to_mem);
/* Bytes the channel still has before terminal count. */
uint32_t i8257_remaining(struct i8257 *d, unsigned ch);
/* The channel reached terminal count in its last transfer. */
bool i8257_tc(struct i8257 *d, unsigned ch);

#endif /* HW_DMA_I8257_H */
