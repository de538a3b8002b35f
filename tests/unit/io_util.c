// SPDX-License-Identifier: MIT
/* io_util.c - port accesses for the unit tests; see io_util.h. */
#include "io_util.h"

#include "iospace.h"
#include "tap.h"

uint8_t in8(struct dm *dm, uint16_t port)
{
	return (uint8_t)io_in(dm, port, 1);
}

void out8(struct dm *dm, uint16_t port, uint8_t val)
{
	io_out(dm, port, 1, val);
}

uint64_t io_in(struct dm *dm, uint16_t port, unsigned size)
{
	uint64_t v = 0;

	io_dispatch(dm, IO_PIO, port, size, false, &v);
	return v;
}

void io_out(struct dm *dm, uint16_t port, unsigned size, uint64_t val)
{
	io_dispatch(dm, IO_PIO, port, size, true, &val);
}

uint64_t pio_in(struct dm *dm, uint16_t port, unsigned size)
{
	uint64_t v = 0;

	CHECK_EQ(io_dispatch(dm, IO_PIO, port, size, false, &v), 0);
	return v;
}

void pio_out(struct dm *dm, uint16_t port, unsigned size, uint64_t val)
{
	CHECK_EQ(io_dispatch(dm, IO_PIO, port, size, true, &val), 0);
}
