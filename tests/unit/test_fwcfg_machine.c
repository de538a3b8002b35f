// SPDX-License-Identifier: MIT
/*
 * test_fwcfg_machine.c - the machine builder (pc_machine_build) and the
 * small platform devices it creates: which devices "pc" and "none" get,
 * -serial ports, -device extras, unknown machines, the debug console
 * readback and chardev, port 0x92 (A20 bit, fast reset) and the 0xCF9 reset
 * register (PIIX3's when it exists, hw/pc's "reset-cf9" otherwise).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include "device.h"
#include "dm.h"
#include "io_util.h"
#include "tap.h"

static struct dm *new_dm(const char *machine)
{
	struct dm *dm = NULL;

	CHECK_EQ(dm_create_standalone(32 << 20, &dm), 0);
	dm->cfg.machine = (char *)machine;
	return dm;
}

static void test_pc_machine(void)
{
	static const char *const mine[] = { "rtc", "fw_cfg", "debugcon", "port92" };
	struct dm *dm = new_dm("pc");
	unsigned i;

	dm->cfg.serial[0] = (char *)"null";
	dm->cfg.serial[1] = (char *)"none";
	dm->cfg.serial[2] = (char *)"null";
	dm->cfg.nr_serial = 3;
	CHECK_EQ(pc_machine_build(dm), 0);
	for (i = 0; i < sizeof(mine) / sizeof(mine[0]); i++)
		CHECK(dev_find(dm, mine[i]) != NULL);
	/* Chipset and serial devices when their types are built in. */
	if (dev_type_find("piix3")) {
		CHECK(dev_find(dm, "piix3") != NULL);
		CHECK(dev_find(dm, "reset-cf9") == NULL);
	} else {
		CHECK(dev_find(dm, "reset-cf9") != NULL);
	}
	if (dev_type_find("uart16550")) {
		/* COM1 and COM3 (COM2 is "none"). */
		CHECK(in8(dm, 0x3f8 + 5) != 0xff);
		CHECK_EQ(in8(dm, 0x2f8 + 5), 0xff);
		CHECK(in8(dm, 0x3e8 + 5) != 0xff);
	}
	/* Ports of the platform devices answer. */
	CHECK_EQ(in8(dm, 0x402), 0xe9);
	CHECK_EQ(in8(dm, 0xe9), 0xe9);
	CHECK_EQ(in8(dm, 0x511), 0); /* nothing selected */
	out8(dm, 0x70, 0x0d);
	CHECK_EQ(in8(dm, 0x71), 0x80);
	/* Debug output is line-buffered into the log; long lines are cut, not lost. */
	for (i = 0; i < 500; i++)
		out8(dm, 0x402, (uint8_t)('a' + i % 26));
	out8(dm, 0x402, '\n');
	/* Port 0x92: A20 bit reads back; bit 0 rising asks for a reset. */
	CHECK_EQ(in8(dm, 0x92), 0);
	out8(dm, 0x92, 0x02);
	CHECK_EQ(in8(dm, 0x92), 0x02);
	CHECK_EQ(dm->shutdown_reason, -1);
	out8(dm, 0x92, 0x03);
	CHECK_EQ(dm->shutdown_reason, HVM_SHUTDOWN_REBOOT);
	dev_reset_all(dm, DEV_RESET_WARM);
	CHECK_EQ(in8(dm, 0x92), 0x02);
	dm_destroy(dm);
}

static void test_none_machine_and_extras(void)
{
	struct dm *dm = new_dm("none");

	dm->cfg.extra_devices[0] = (char *)"reset-cf9";
	dm->cfg.extra_devices[1] = (char *)"rtc,base=86400";
	dm->cfg.nr_extra_devices = 2;
	CHECK_EQ(pc_machine_build(dm), 0);
	CHECK(dev_find(dm, "fw_cfg") == NULL);
	CHECK(dev_find(dm, "debugcon") == NULL);
	CHECK(dev_find(dm, "rtc") != NULL);
	out8(dm, 0x70, 0x07);
	CHECK_EQ(in8(dm, 0x71), 0x02); /* 1970-01-02 */
	/* 0xCF9: SYS_RST is stored, RST_CPU resets and reads as 0. */
	CHECK_EQ(in8(dm, 0xcf9), 0);
	out8(dm, 0xcf9, 0x02);
	CHECK_EQ(in8(dm, 0xcf9), 0x02);
	CHECK_EQ(dm->shutdown_reason, -1);
	out8(dm, 0xcf9, 0x06);
	CHECK_EQ(dm->shutdown_reason, HVM_SHUTDOWN_REBOOT);
	dm_destroy(dm);

	dm = new_dm("none");
	dm->cfg.extra_devices[0] = (char *)"no-such-device";
	dm->cfg.nr_extra_devices = 1;
	CHECK(pc_machine_build(dm) < 0);
	dm_destroy(dm);

	dm = new_dm("isapc");
	CHECK_EQ(pc_machine_build(dm), -EINVAL);
	dm_destroy(dm);

	/* xenfv is an alias of pc. */
	dm = new_dm("xenfv");
	CHECK_EQ(pc_machine_build(dm), 0);
	CHECK(dev_find(dm, "fw_cfg") != NULL);
	dm_destroy(dm);
}

static void test_debugcon_chardev(void)
{
	char path[] = "/tmp/hvmdm-test-debugconXXXXXX", opts[128], buf[64] = { 0 };
	int fd = mkstemp(path);
	struct dm *dm = new_dm("none");
	struct dev *d;
	const char *msg = "hello\r\n";
	ssize_t n;
	unsigned i;

	CHECK(fd >= 0);
	snprintf(opts, sizeof(opts), "chardev=file:%s", path);
	CHECK_EQ(dev_create(dm, "debugcon", opts, &d), 0);
	for (i = 0; msg[i]; i++)
		out8(dm, 0xe9, (uint8_t)msg[i]);
	out8(dm, 0x402, 'x'); /* 0x402 still goes to the log */
	dm_destroy(dm);	      /* closes and flushes the backend */
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	CHECK_EQ(n, (ssize_t)strlen(msg));
	CHECK(!strcmp(buf, msg));
	close(fd);
	unlink(path);
}

int main(void)
{
	test_pc_machine();
	test_none_machine_and_extras();
	test_debugcon_chardev();
	return tap_done();
}
