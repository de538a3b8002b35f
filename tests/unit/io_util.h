/* SPDX-License-Identifier: MIT */
/* io_util.h - port accesses through a dm's dispatcher, as the unit tests make them. */
#ifndef IO_UTIL_H
#define IO_UTIL_H

#include <stdint.h>

#include "dm.h"

/* One byte in or out; what the dispatcher returns is not checked. */
uint8_t in8(struct dm *dm, uint16_t port);
void out8(struct dm *dm, uint16_t port, uint8_t val);

/* size bytes in or out; unchecked. */
uint64_t io_in(struct dm *dm, uint16_t port, unsigned size);
void io_out(struct dm *dm, uint16_t port, unsigned size, uint64_t val);

/* size bytes in or out, checking that the dispatcher took the access. */
uint64_t pio_in(struct dm *dm, uint16_t port, unsigned size);
void pio_out(struct dm *dm, uint16_t port, unsigned size, uint64_t val);

#endif /* IO_UTIL_H */
