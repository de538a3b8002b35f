// SPDX-License-Identifier: MIT
/*
 * test_uart_kbd_qtest.c - differential check of the 16550A and the i8042
 * against QEMU: replays tests/harness/scripts/uart_*.qtest and kbd_*.qtest
 * (recorded from qemu-system-x86_64 -machine pc by uart-record.py and
 * kbd-record.py) in-process on a standalone dm and compares every reply.
 * Only port I/O requests occur in those scripts.
 */
#include <stdio.h>

#include "device.h"
#include "dm.h"
#include "qtest_util.h"
#include "tap.h"

static const struct plan {
	const char *script;
	const char *device;
	const char *opts;
} plans[] = {
	{ "uart_regs.qtest", "uart16550", "index=0" },
	{ "uart_loopback.qtest", "uart16550", "index=0" },
	{ "uart_fifo.qtest", "uart16550", "index=0" },
	{ "kbd_controller.qtest", "i8042", NULL },
	{ "kbd_keyboard.qtest", "i8042", NULL },
	{ "kbd_mouse.qtest", "i8042", NULL },
};

/* One plan's device on a 1 MiB standalone dm. */
static struct dm *one_device(const void *arg)
{
	const struct plan *p = arg;
	struct dm *dm = NULL;

	CHECK_EQ(dm_create_standalone(1 << 20, &dm), 0);
	CHECK_EQ(dev_create(dm, p->device, p->opts, NULL), 0);
	return dm;
}

int main(void)
{
	unsigned i;

	for (i = 0; i < sizeof(plans) / sizeof(plans[0]); i++)
		qtest_replay(plans[i].script, one_device, &plans[i]);
	return tap_done();
}
