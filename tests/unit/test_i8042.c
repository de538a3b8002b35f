// SPDX-License-Identifier: MIT
/*
 * test_i8042.c - the keyboard controller through ports 0x60/0x64 on a
 * standalone dm, with the input router in front: self test, interface
 * tests, the command byte, IRQ1/IRQ12 edges, translation of key events
 * (make/break, extended keys, identify reply), port disable holding data
 * back, aux commands through 0xd4, output-buffer writes 0xd2/0xd3, A20 and
 * the reset line, send-key parsing, pointer routing priorities, and random
 * hostile port traffic.
 */
#include <errno.h>
#include <linux/input-event-codes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "device.h"
#include "dm.h"
#include "loop.h"
#include "qmp.h"
#include "input/i8042.h"
#include "irq.h"
#include "io_util.h"
#include "tap.h"
#include "input.h"

#define DATA 0x60
#define CMD 0x64
#define ST_OBF 0x01
#define ST_SYS 0x04
#define ST_AUX 0x20

/* Read one byte the way a driver does: status first; -1 when empty. */
static int get(struct dm *dm)
{
	if (!(in8(dm, CMD) & ST_OBF))
		return -1;
	return in8(dm, DATA);
}

/* ctrl-alt-delete in translated set 1: the makes, then the breaks in reverse. */
static const uint8_t cad_set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };

/* The next n bytes read are want[0..n), one check each. */
static void expect_bytes(struct dm *dm, const uint8_t *want, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		CHECK_EQ(get(dm), want[i]);
}

static void drain(struct dm *dm)
{
	int i;

	for (i = 0; i < 600 && get(dm) >= 0; i++)
		;
}

static struct dm *new_dm(struct dev **d)
{
	struct dm *dm = NULL;

	CHECK_EQ(dm_create_standalone(1 << 20, &dm), 0);
	CHECK_EQ(dev_create(dm, "i8042", NULL, d), 0);
	return dm;
}

static void test_controller(void)
{
	struct dev *d;
	struct dm *dm = new_dm(&d);

	CHECK_EQ(in8(dm, CMD) & ST_OBF, 0);
	out8(dm, CMD, 0xaa);
	CHECK_EQ(in8(dm, CMD) & (ST_OBF | ST_SYS), ST_OBF | ST_SYS);
	CHECK_EQ(in8(dm, DATA), 0x55);
	CHECK_EQ(in8(dm, CMD) & ST_OBF, 0);
	/* The last byte reads again when nothing is new. */
	CHECK_EQ(in8(dm, DATA), 0x55);
	out8(dm, CMD, 0xab);
	CHECK_EQ(get(dm), 0x00);
	out8(dm, CMD, 0xa9);
	CHECK_EQ(get(dm), 0x00);
	/* Command byte: reset value, write, read back; other RAM bytes too. */
	out8(dm, CMD, 0x20);
	CHECK_EQ(get(dm), 0x03);
	out8(dm, CMD, 0x60);
	out8(dm, DATA, 0x47);
	out8(dm, CMD, 0x20);
	CHECK_EQ(get(dm), 0x47);
	out8(dm, CMD, 0x65);
	out8(dm, DATA, 0x99);
	out8(dm, CMD, 0x25);
	CHECK_EQ(get(dm), 0x99);
	/* 0xa7/0xa8, 0xad/0xae flip the disable bits. */
	out8(dm, CMD, 0xa7);
	out8(dm, CMD, 0xad);
	out8(dm, CMD, 0x20);
	CHECK_EQ(get(dm), 0x47 | 0x30);
	out8(dm, CMD, 0xa8);
	out8(dm, CMD, 0xae);
	out8(dm, CMD, 0x20);
	CHECK_EQ(get(dm), 0x47 & ~0x30);
	/* 0xd2/0xd3 place bytes as if from the keyboard / mouse. */
	out8(dm, CMD, 0xd2);
	out8(dm, DATA, 0x12);
	CHECK(dm_irq_level(dm, 1));
	CHECK_EQ(in8(dm, CMD) & ST_AUX, 0);
	CHECK_EQ(get(dm), 0x12);
	CHECK(!dm_irq_level(dm, 1));
	out8(dm, CMD, 0xd3);
	out8(dm, DATA, 0x34);
	CHECK(dm_irq_level(dm, 12));
	CHECK_EQ(in8(dm, CMD) & ST_AUX, ST_AUX);
	CHECK_EQ(get(dm), 0x34);
	CHECK(!dm_irq_level(dm, 12));
	/* Unknown command: ignored, nothing queued. */
	out8(dm, CMD, 0x01);
	CHECK_EQ(get(dm), -1);
	dm_destroy(dm);
}

static void test_keys(void)
{
	struct dev *d;
	struct dm *dm = new_dm(&d);
	uint32_t edges;

	/* Translation on (what BIOSes set): set 1 codes reach the guest. */
	out8(dm, CMD, 0x60);
	out8(dm, DATA, 0x61 | 0x02);
	edges = dm_irq_edges(dm, 1);
	input_key(dm, KEY_A, true);
	CHECK(dm_irq_level(dm, 1));
	CHECK_EQ(get(dm), 0x1e);
	input_key(dm, KEY_A, false);
	CHECK_EQ(get(dm), 0x9e);
	input_key(dm, KEY_RIGHT, false);
	CHECK_EQ(get(dm), 0xe0);
	CHECK_EQ(get(dm), 0xcd);
	CHECK_EQ(get(dm), -1);
	CHECK(dm_irq_edges(dm, 1) - edges >= 4);
	/* Identify through translation reads ab 41. */
	out8(dm, DATA, 0xf2);
	CHECK_EQ(get(dm), 0xfa);
	CHECK_EQ(get(dm), 0xab);
	CHECK_EQ(get(dm), 0x41);
	/* ctrl-alt-delete through the send-key parser. */
	CHECK_EQ(input_send_keys(dm, "ctrl-alt-delete"), 0);
	expect_bytes(dm, cad_set1, sizeof(cad_set1));
	CHECK_EQ(get(dm), -1);
	CHECK_EQ(input_send_keys(dm, "ctrl-nosuchkey"), -EINVAL);
	CHECK_EQ(input_send_keys(dm, "ctrl--a"), -EINVAL);
	CHECK_EQ(input_send_keys(dm, ""), -EINVAL);
	CHECK_EQ(get(dm), -1); /* nothing sent for a bad combo */
	/* Translation off: raw set 2. */
	out8(dm, CMD, 0x60);
	out8(dm, DATA, 0x03);
	input_key(dm, KEY_A, false);
	CHECK_EQ(get(dm), 0xf0);
	CHECK_EQ(get(dm), 0x1c);
	/* A disabled keyboard port holds bytes back until re-enabled. */
	out8(dm, CMD, 0xad);
	input_key(dm, KEY_B, true);
	CHECK_EQ(get(dm), -1);
	CHECK(!dm_irq_level(dm, 1));
	out8(dm, CMD, 0xae);
	CHECK(dm_irq_level(dm, 1));
	CHECK_EQ(get(dm), 0x32);
	/* With KBD_INT off the byte is there but IRQ1 stays low. */
	out8(dm, CMD, 0x60);
	out8(dm, DATA, 0x00);
	input_key(dm, KEY_B, false);
	CHECK(!dm_irq_level(dm, 1));
	CHECK_EQ(get(dm), 0xf0);
	CHECK_EQ(get(dm), 0x32);
	/* LEDs reach the router. */
	out8(dm, DATA, 0xed);
	out8(dm, DATA, 0x04);
	drain(dm);
	CHECK_EQ(input_get_leds(dm), INPUT_LED_CAPS);
	dm_destroy(dm);
}

static void test_mouse(void)
{
	struct dev *d;
	struct dm *dm = new_dm(&d);

	out8(dm, CMD, 0x60);
	out8(dm, DATA, 0x47);
	out8(dm, CMD, 0xd4);
	out8(dm, DATA, 0xf2);
	CHECK_EQ(in8(dm, CMD) & (ST_OBF | ST_AUX), ST_OBF | ST_AUX);
	CHECK(dm_irq_level(dm, 12));
	CHECK_EQ(get(dm), 0xfa);
	CHECK_EQ(get(dm), 0x00);
	CHECK(!dm_irq_level(dm, 12));
	/* Enable streaming; motion from the router becomes packets on IRQ12. */
	out8(dm, CMD, 0xd4);
	out8(dm, DATA, 0xf4);
	CHECK_EQ(get(dm), 0xfa);
	CHECK(input_pointer_active(dm) != NULL);
	CHECK(!input_pointer_absolute(dm));
	input_pointer_rel(dm, 4, 0, 0, INPUT_BTN_LEFT);
	CHECK(dm_irq_level(dm, 12));
	CHECK_EQ(get(dm), 0x09);
	CHECK_EQ(get(dm), 4);
	CHECK_EQ(get(dm), 0);
	/* Absolute events for a relative sink become deltas. */
	input_pointer_abs(dm, 100, 100, 640, 480, 0, 0);
	drain(dm);
	input_pointer_abs(dm, 110, 95, 640, 480, 0, 0);
	CHECK_EQ(get(dm), 0x08);
	CHECK_EQ(get(dm), 10);
	CHECK_EQ(get(dm), 5);
	/* Aux port disabled: packets wait. */
	out8(dm, CMD, 0xa7);
	input_pointer_rel(dm, 1, 0, 0, 0);
	CHECK_EQ(get(dm), -1);
	out8(dm, CMD, 0xa8);
	CHECK_EQ(get(dm), 0x08);
	dm_destroy(dm);
}

static void test_a20_reset(void)
{
	struct dev *d;
	struct dm *dm = new_dm(&d);

	CHECK(i8042_a20_enabled(d));
	out8(dm, CMD, 0xd0);
	CHECK_EQ(get(dm) & 0x03, 0x03);
	out8(dm, CMD, 0xd1);
	out8(dm, DATA, 0x01); /* A20 off, reset line high */
	CHECK(!i8042_a20_enabled(d));
	out8(dm, CMD, 0xd0);
	CHECK_EQ(get(dm) & 0x03, 0x01);
	out8(dm, CMD, 0xdf);
	CHECK(i8042_a20_enabled(d));
	out8(dm, CMD, 0xdd);
	CHECK(!i8042_a20_enabled(d));
	CHECK_EQ(dm->shutdown_reason, -1);
	/* 0xff pulses nothing; 0xfe pulses the reset line. */
	out8(dm, CMD, 0xff);
	CHECK_EQ(dm->shutdown_reason, -1);
	out8(dm, CMD, 0xfe);
	CHECK_EQ(dm->shutdown_reason, HVM_SHUTDOWN_REBOOT);
	dm_destroy(dm);

	dm = new_dm(&d);
	out8(dm, CMD, 0xd1);
	out8(dm, DATA, 0x02); /* bit 0 low: reset */
	CHECK_EQ(dm->shutdown_reason, HVM_SHUTDOWN_REBOOT);
	dm_destroy(dm);
}

static void test_keynames(void)
{
	CHECK_EQ(input_keycode_from_name("ret"), KEY_ENTER);
	CHECK_EQ(input_keycode_from_name("spc"), KEY_SPACE);
	CHECK_EQ(input_keycode_from_name("kp_add"), KEY_KPPLUS);
	CHECK_EQ(input_keycode_from_name("F12"), KEY_F12);
	CHECK_EQ(input_keycode_from_name("a"), KEY_A);
	CHECK_EQ(input_keycode_from_name("0"), KEY_0);
	CHECK_EQ(input_keycode_from_name("0x1e"), 0x1e);
	CHECK_EQ(input_keycode_from_name("bogus"), -EINVAL);
	CHECK_EQ(input_keycode_from_name(""), -EINVAL);
	CHECK(!strcmp(input_keycode_name(KEY_ENTER), "ret"));
}

struct tablet {
	int x, y, calls;
};

static void tablet_event(void *opaque, int x, int y, int dz, unsigned b)
{
	struct tablet *t = opaque;

	(void)dz;
	(void)b;
	t->x = x;
	t->y = y;
	t->calls++;
}

static const struct input_ptr_ops tablet_ops = { .event = tablet_event };

static void test_routing(void)
{
	struct dev *d;
	struct dm *dm = new_dm(&d);
	struct input_sink *s;
	struct tablet t = { 0 };

	out8(dm, CMD, 0xd4);
	out8(dm, DATA, 0xf4);
	drain(dm);
	CHECK_EQ(input_register_pointer(dm, "usb-tablet", INPUT_PRIO_USB, true, &tablet_ops, &t,
					&s),
		 0);
	CHECK(!strcmp(input_pointer_active(dm), "usb-tablet"));
	CHECK(input_pointer_absolute(dm));
	input_pointer_abs(dm, 639, 0, 640, 480, 0, 0);
	CHECK_EQ(t.calls, 1);
	CHECK_EQ(t.x, INPUT_ABS_MAX);
	CHECK_EQ(t.y, 0);
	CHECK_EQ(get(dm), -1); /* the PS/2 mouse got nothing */
	input_unregister(s);
	CHECK(!strcmp(input_pointer_active(dm), "ps2-mouse"));
	input_pointer_rel(dm, 1, 1, 0, 0);
	CHECK_EQ(get(dm), 0x28);
	dm_destroy(dm);
	/* No devices: the router is gone and calls are no-ops. */
	CHECK_EQ(dm_create_standalone(1 << 20, &dm), 0);
	input_key(dm, KEY_A, true);
	input_pointer_rel(dm, 1, 1, 0, 0);
	CHECK(input_pointer_active(dm) == NULL);
	CHECK_EQ(input_send_keys(dm, "a"), 0);
	dm_destroy(dm);
}

/* send-key with a hold time: makes now, breaks when the virtual clock gets there. */
static void test_send_key_hold(void)
{
	static const unsigned codes[] = { KEY_LEFTCTRL, KEY_C };
	struct dev *d;
	struct dm *dm = new_dm(&d);
	uint64_t t0 = clock_ns(dm->clock);

	out8(dm, CMD, 0x60);
	out8(dm, DATA, 0x43);
	CHECK_EQ(input_send_keycodes_hold(dm, codes, 2, 100), 0);
	CHECK_EQ(get(dm), 0x1d);
	CHECK_EQ(get(dm), 0x2e);
	CHECK_EQ(get(dm), -1);
	clock_set(dm->clock, t0 + 99 * NS_PER_MS);
	CHECK_EQ(get(dm), -1);
	clock_set(dm->clock, t0 + 100 * NS_PER_MS);
	CHECK_EQ(get(dm), 0xae);
	CHECK_EQ(get(dm), 0x9d);
	/* A second combination releases one still held first. */
	CHECK_EQ(input_send_keycodes_hold(dm, codes, 1, 100), 0);
	CHECK_EQ(input_send_keycodes_hold(dm, codes + 1, 1, 100), 0);
	CHECK_EQ(get(dm), 0x1d);
	CHECK_EQ(get(dm), 0x9d);
	CHECK_EQ(get(dm), 0x2e);
	CHECK_EQ(get(dm), -1);
	/* Destroying the device with keys held is safe (timer gone with the router). */
	dm_destroy(dm);
	/* QEMU key numbers. */
	CHECK_EQ(input_keycode_from_xt(0x1d), KEY_LEFTCTRL);
	CHECK_EQ(input_keycode_from_xt(0x9d), KEY_RIGHTCTRL);
	CHECK_EQ(input_keycode_from_xt(0xd3), KEY_DELETE);
	CHECK_EQ(input_keycode_from_xt(0x58), KEY_F12);
	CHECK_EQ(input_keycode_from_xt(0x54), -EINVAL);
	CHECK_EQ(input_keycode_from_xt(0x100), -EINVAL);
}

/* QMP send-key reaches the keyboard through the handler the router installs. */
static void test_qmp_send_key(void)
{
	static const char req[] = "{\"execute\": \"qmp_capabilities\"}\n"
				  "{\"execute\": \"send-key\", \"arguments\": {\"keys\": ["
				  "{\"type\": \"qcode\", \"data\": \"ctrl\"}, {\"type\": "
				  "\"number\", \"data\": 56}, "
				  "{\"type\": \"qcode\", \"data\": \"delete\"}], \"hold-time\": "
				  "0}}\n";
	struct dev *d;
	struct dm *dm = new_dm(&d);
	char buf[4096];
	int sv[2], i;
	ssize_t n;

	out8(dm, CMD, 0x60);
	out8(dm, DATA, 0x43);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_EQ(qmp_attach_fd(dm, sv[0]), 0);
	CHECK_EQ(write(sv[1], req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	for (i = 0; i < 50 && !(in8(dm, CMD) & ST_OBF); i++)
		loop_run_once(dm->loop, 10);
	expect_bytes(dm, cad_set1, sizeof(cad_set1));
	n = read(sv[1], buf, sizeof(buf) - 1);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = 0;
	CHECK(strstr(buf, "\"error\"") == NULL);
	close(sv[1]);
	qmp_stop(dm);
	dm_destroy(dm);
}

static void test_hostile(void)
{
	struct dev *d;
	struct dm *dm = new_dm(&d);
	unsigned i;

	srand(4242);
	for (i = 0; i < 300000; i++) {
		unsigned r = (unsigned)rand();
		uint8_t v = (uint8_t)(r >> 8);

		/* Never pulse reset or drop the reset line: keep the dm running. */
		switch (r % 7) {
		case 0:
			if (v < 0xf0 && v != 0xd1)
				out8(dm, CMD, v);
			break;
		case 1:
			out8(dm, CMD, 0xd4);
			out8(dm, DATA, v);
			break;
		case 2:
			out8(dm, DATA, v);
			break;
		case 3:
			input_key(dm, r % 200, r & 0x10000);
			break;
		case 4:
			input_pointer_rel(dm, (int)(r % 2001) - 1000, (int)(r % 301) - 150, 1,
					  r & 7);
			break;
		default:
			in8(dm, (r & 1) ? DATA : CMD);
			break;
		}
	}
	CHECK_EQ(dm->shutdown_reason, -1);
	drain(dm);
	out8(dm, CMD, 0xaa);
	drain(dm);
	out8(dm, CMD, 0xab);
	CHECK_EQ(get(dm), 0x00);
	dm_destroy(dm);
}

int main(void)
{
	test_controller();
	test_keys();
	test_mouse();
	test_a20_reset();
	test_keynames();
	test_routing();
	test_send_key_hold();
	test_qmp_send_key();
	test_hostile();
	return tap_done();
}
