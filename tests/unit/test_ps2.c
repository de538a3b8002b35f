// SPDX-License-Identifier: MIT
/*
 * test_ps2.c - PS/2 keyboard and mouse cores on their own: scancode sets
 * 1/2/3 for ordinary, extended and special keys, the 8042 translation table,
 * keyboard commands (reset, identify, echo, LEDs, scancode set, resend,
 * unknown), the bounded queue, mouse reset/ID, the IntelliMouse knocks,
 * packet format with signs and wheel, large motion split into packets,
 * remote mode, status request, scaling, wrap mode, and random hostile bytes.
 */
#include <linux/input-event-codes.h>
#include <stdlib.h>
#include <string.h>

#include "input/ps2.h"
#include "tap.h"

static unsigned notified;

static void notify(void *opaque)
{
	(void)opaque;
	notified++;
}

static int kread(struct ps2_kbd *k)
{
	return ps2_kbd_read(k);
}

static int mread(struct ps2_mouse *m)
{
	return ps2_mouse_read(m);
}

static int enc_eq(unsigned set, unsigned key, bool down, const uint8_t *want, unsigned n)
{
	uint8_t got[8];
	unsigned len = ps2_kbd_encode(set, key, down, got);

	return len == n && (!n || !memcmp(got, want, n));
}

static void test_encode(void)
{
	/* 'A': set 1 0x1e/0x9e, set 2 0x1c/f0 1c, set 3 0x1c/f0 1c. */
	CHECK(enc_eq(1, KEY_A, true, (const uint8_t[]){ 0x1e }, 1));
	CHECK(enc_eq(1, KEY_A, false, (const uint8_t[]){ 0x9e }, 1));
	CHECK(enc_eq(2, KEY_A, true, (const uint8_t[]){ 0x1c }, 1));
	CHECK(enc_eq(2, KEY_A, false, (const uint8_t[]){ 0xf0, 0x1c }, 2));
	CHECK(enc_eq(3, KEY_A, false, (const uint8_t[]){ 0xf0, 0x1c }, 2));
	/* Extended: Up arrow e0 48 / e0 c8 and e0 75 / e0 f0 75; set 3 0x63. */
	CHECK(enc_eq(1, KEY_UP, true, (const uint8_t[]){ 0xe0, 0x48 }, 2));
	CHECK(enc_eq(1, KEY_UP, false, (const uint8_t[]){ 0xe0, 0xc8 }, 2));
	CHECK(enc_eq(2, KEY_UP, false, (const uint8_t[]){ 0xe0, 0xf0, 0x75 }, 3));
	CHECK(enc_eq(3, KEY_UP, true, (const uint8_t[]){ 0x63 }, 1));
	/* F7 is 0x83 in set 2 and 0x41 in set 1. */
	CHECK(enc_eq(2, KEY_F7, true, (const uint8_t[]){ 0x83 }, 1));
	CHECK(enc_eq(1, KEY_F7, true, (const uint8_t[]){ 0x41 }, 1));
	/* Left Ctrl differs between sets 2 and 3. */
	CHECK(enc_eq(2, KEY_LEFTCTRL, true, (const uint8_t[]){ 0x14 }, 1));
	CHECK(enc_eq(3, KEY_LEFTCTRL, true, (const uint8_t[]){ 0x11 }, 1));
	CHECK(enc_eq(1, KEY_ESC, true, (const uint8_t[]){ 0x01 }, 1));
	CHECK(enc_eq(1, KEY_DELETE, true, (const uint8_t[]){ 0xe0, 0x53 }, 2));
	/* Pause: no break code. */
	CHECK(enc_eq(2, KEY_PAUSE, true,
		     (const uint8_t[]){ 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 }, 8));
	CHECK(enc_eq(1, KEY_PAUSE, true, (const uint8_t[]){ 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 },
		     6));
	CHECK(enc_eq(2, KEY_PAUSE, false, NULL, 0));
	CHECK(enc_eq(1, KEY_SYSRQ, true, (const uint8_t[]){ 0xe0, 0x2a, 0xe0, 0x37 }, 4));
	CHECK(enc_eq(2, KEY_SYSRQ, false, (const uint8_t[]){ 0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12 },
		     6));
	/* Unknown keys and bad sets produce nothing. */
	CHECK(enc_eq(2, KEY_MAX, true, NULL, 0));
	CHECK(enc_eq(2, 0, true, NULL, 0));
	CHECK(enc_eq(4, KEY_A, true, NULL, 0));
}

static void test_xlat(void)
{
	unsigned key;
	uint8_t s1[8], s2[8];

	CHECK_EQ(ps2_xlat(0x1c), 0x1e);
	CHECK_EQ(ps2_xlat(0x83), 0x41);
	CHECK_EQ(ps2_xlat(0xfa), 0xfa); /* ACK passes */
	CHECK_EQ(ps2_xlat(0xaa), 0xaa);
	CHECK_EQ(ps2_xlat(0x02), 0x41); /* the "set 2" reply reads as 0x41 */
	/*
	 * Every key whose make code is one byte (after an optional e0) must
	 * translate from set 2 to exactly its set 1 code.
	 */
	for (key = 1; key < 256; key++) {
		unsigned n1 = ps2_kbd_encode(1, key, true, s1);
		unsigned n2 = ps2_kbd_encode(2, key, true, s2);

		if (key == KEY_PAUSE || key == KEY_SYSRQ || !n2)
			continue;
		CHECK_EQ(n1, n2);
		CHECK_EQ(ps2_xlat(s2[n2 - 1]), s1[n1 - 1]);
	}
}

static void test_kbd_commands(void)
{
	struct ps2_kbd k;
	int i;

	ps2_kbd_init(&k, notify, NULL);
	notified = 0;
	ps2_kbd_write(&k, 0xff);
	CHECK_EQ(kread(&k), 0xfa);
	CHECK_EQ(kread(&k), 0xaa);
	CHECK_EQ(kread(&k), -1);
	CHECK(notified > 0);
	ps2_kbd_write(&k, 0xf2);
	CHECK_EQ(kread(&k), 0xfa);
	CHECK_EQ(kread(&k), 0xab);
	CHECK_EQ(kread(&k), 0x83);
	ps2_kbd_write(&k, 0xee);
	CHECK_EQ(kread(&k), 0xee);
	ps2_kbd_write(&k, 0xed);
	CHECK_EQ(kread(&k), 0xfa);
	ps2_kbd_write(&k, 0x07);
	CHECK_EQ(kread(&k), 0xfa);
	CHECK_EQ(k.leds, 7);
	/* Scancode set query and change. */
	ps2_kbd_write(&k, 0xf0);
	ps2_kbd_write(&k, 0x00);
	CHECK_EQ(kread(&k), 0xfa);
	CHECK_EQ(kread(&k), 0xfa);
	CHECK_EQ(kread(&k), 0x02);
	ps2_kbd_write(&k, 0xf0);
	ps2_kbd_write(&k, 0x03);
	CHECK_EQ(kread(&k), 0xfa);
	CHECK_EQ(kread(&k), 0xfa);
	CHECK_EQ(k.set, 3);
	ps2_kbd_key(&k, KEY_LEFTALT, true);
	CHECK_EQ(kread(&k), 0x19);
	/* Resend repeats the last byte. */
	ps2_kbd_write(&k, 0xfe);
	CHECK_EQ(kread(&k), 0x19);
	/* Typematic argument. */
	ps2_kbd_write(&k, 0xf3);
	ps2_kbd_write(&k, 0x20);
	CHECK_EQ(kread(&k), 0xfa);
	CHECK_EQ(kread(&k), 0xfa);
	CHECK_EQ(k.rate, 0x20);
	/* A command byte where an argument was expected starts that command. */
	ps2_kbd_write(&k, 0xed);
	ps2_kbd_write(&k, 0xf2);
	CHECK_EQ(kread(&k), 0xfa);
	CHECK_EQ(kread(&k), 0xfa);
	CHECK_EQ(kread(&k), 0xab);
	CHECK_EQ(kread(&k), 0x83);
	/* Unknown command: resend request. */
	ps2_kbd_write(&k, 0x42);
	CHECK_EQ(kread(&k), 0xfe);
	/* Disabled keyboard sends no keys; reset goes back to set 2, enabled. */
	ps2_kbd_write(&k, 0xf5);
	CHECK_EQ(kread(&k), 0xfa);
	ps2_kbd_key(&k, KEY_B, true);
	CHECK_EQ(kread(&k), -1);
	ps2_kbd_write(&k, 0xff);
	kread(&k);
	kread(&k);
	CHECK_EQ(k.set, 2);
	ps2_kbd_key(&k, KEY_B, true);
	CHECK_EQ(kread(&k), 0x32);
	/* The queue is bounded and drops whole events. */
	for (i = 0; i < 1000; i++)
		ps2_kbd_key(&k, KEY_UP, i & 1);
	CHECK(k.q.count <= PS2_QUEUE_SIZE - PS2_QUEUE_RESERVE);
	CHECK(k.dropped > 0);
	CHECK(ps2_queue_valid(&k.q));
	/* Every event in the queue is complete: e0 75 or e0 f0 75. */
	while (ps2_kbd_pending(&k)) {
		int b;

		CHECK_EQ(kread(&k), 0xe0);
		b = kread(&k);
		if (b == 0xf0)
			b = kread(&k);
		CHECK_EQ(b, 0x75);
	}
	/* Replies still fit after keys filled the queue. */
	for (i = 0; i < 1000; i++)
		ps2_kbd_key(&k, KEY_A, true);
	ps2_kbd_write(&k, 0xee);
	while (ps2_kbd_pending(&k))
		i = kread(&k);
	CHECK_EQ(i, 0xee);
}

static void test_mouse_ids(void)
{
	struct ps2_mouse m;
	static const uint8_t knock3[] = { 200, 100, 80 }, knock4[] = { 200, 200, 80 };
	unsigned i;

	ps2_mouse_init(&m, notify, NULL);
	ps2_mouse_write(&m, 0xff);
	CHECK_EQ(mread(&m), 0xfa);
	CHECK_EQ(mread(&m), 0xaa);
	CHECK_EQ(mread(&m), 0x00);
	ps2_mouse_write(&m, 0xf2);
	CHECK_EQ(mread(&m), 0xfa);
	CHECK_EQ(mread(&m), 0x00);
	for (i = 0; i < 3; i++) {
		ps2_mouse_write(&m, 0xf3);
		ps2_mouse_write(&m, knock3[i]);
		CHECK_EQ(mread(&m), 0xfa);
		CHECK_EQ(mread(&m), 0xfa);
	}
	ps2_mouse_write(&m, 0xf2);
	CHECK_EQ(mread(&m), 0xfa);
	CHECK_EQ(mread(&m), 0x03);
	for (i = 0; i < 3; i++) {
		ps2_mouse_write(&m, 0xf3);
		ps2_mouse_write(&m, knock4[i]);
		mread(&m);
		mread(&m);
	}
	ps2_mouse_write(&m, 0xf2);
	CHECK_EQ(mread(&m), 0xfa);
	CHECK_EQ(mread(&m), 0x04);
	/* Reset returns to a standard mouse. */
	ps2_mouse_write(&m, 0xff);
	CHECK_EQ(mread(&m), 0xfa);
	CHECK_EQ(mread(&m), 0xaa);
	CHECK_EQ(mread(&m), 0x00);
	/* The Explorer knock alone does not skip the wheel step. */
	for (i = 0; i < 3; i++) {
		ps2_mouse_write(&m, 0xf3);
		ps2_mouse_write(&m, knock4[i]);
	}
	CHECK_EQ(m.id, 0);
}

static void test_mouse_packets(void)
{
	struct ps2_mouse m;
	int sum, i, b0, dx;

	ps2_mouse_init(&m, notify, NULL);
	/* Disabled stream mouse: nothing. */
	ps2_mouse_event(&m, 5, 5, 0, 0);
	CHECK_EQ(mread(&m), -1);
	ps2_mouse_write(&m, 0xf4);
	CHECK_EQ(mread(&m), 0xfa);
	/* Right 10, up 5 (screen dy -5), left button. */
	ps2_mouse_event(&m, 10, -5, 0, PS2_BTN_LEFT);
	CHECK_EQ(mread(&m), 0x09);
	CHECK_EQ(mread(&m), 10);
	CHECK_EQ(mread(&m), 5);
	CHECK_EQ(mread(&m), -1);
	/* Left 3, down 4: both sign bits. */
	ps2_mouse_event(&m, -3, 4, 0, 0);
	CHECK_EQ(mread(&m), 0x38);
	CHECK_EQ(mread(&m), 0xfd);
	CHECK_EQ(mread(&m), 0xfc);
	/* Button change alone sends a packet. */
	ps2_mouse_event(&m, 0, 0, 0, PS2_BTN_RIGHT | PS2_BTN_MIDDLE);
	CHECK_EQ(mread(&m), 0x0e);
	CHECK_EQ(mread(&m), 0);
	CHECK_EQ(mread(&m), 0);
	/* Large motion is split into packets of at most 255, nothing lost. */
	ps2_mouse_event(&m, 1000, 0, 0, 0);
	sum = 0;
	for (i = 0; i < 10 && ps2_mouse_pending(&m); i++) {
		b0 = mread(&m);
		dx = mread(&m);
		mread(&m);
		CHECK(!(b0 & 0xc0)); /* no overflow bits */
		CHECK(!(b0 & 0x10));
		sum += dx;
	}
	CHECK_EQ(sum, 1000);
	/* Huge motion is clamped, the queue stays bounded. */
	ps2_mouse_event(&m, 1 << 30, -(1 << 30), 0, 0);
	CHECK(m.q.count <= PS2_QUEUE_SIZE);
	CHECK(m.dx >= -4096 && m.dx <= 4096);
	while (ps2_mouse_pending(&m))
		mread(&m);
	m.dx = m.dy = 0;
	/* Wheel (ID 3): fourth byte, signed. */
	m.id = 3;
	ps2_mouse_event(&m, 0, 0, -1, 0);
	CHECK_EQ(mread(&m), 0x08);
	mread(&m);
	mread(&m);
	CHECK_EQ(mread(&m), 0xff);
	/* ID 4: buttons 4/5 in bits 4/5 of the fourth byte. */
	m.id = 4;
	ps2_mouse_event(&m, 0, 0, 2, PS2_BTN_SIDE);
	mread(&m);
	mread(&m);
	mread(&m);
	CHECK_EQ(mread(&m), 0x12);
	/* Status request: enabled, scaling 1:1, resolution 2, rate 100. */
	ps2_mouse_write(&m, 0xe9);
	CHECK_EQ(mread(&m), 0xfa);
	CHECK_EQ(mread(&m), 0x20 | 0x00);
	CHECK_EQ(mread(&m), 2);
	CHECK_EQ(mread(&m), 100);
	/* 2:1 scaling maps 3 -> 3 and 10 -> 20. */
	ps2_mouse_write(&m, 0xe7);
	mread(&m);
	m.id = 0;
	ps2_mouse_event(&m, 10, -3, 0, PS2_BTN_SIDE);
	mread(&m);
	CHECK_EQ(mread(&m), 20);
	CHECK_EQ(mread(&m), 3);
	ps2_mouse_write(&m, 0xe6);
	mread(&m);
	/* Remote mode: no stream; 0xeb reads a packet. */
	ps2_mouse_write(&m, 0xf0);
	CHECK_EQ(mread(&m), 0xfa);
	ps2_mouse_event(&m, 7, 0, 0, 0);
	CHECK_EQ(mread(&m), -1);
	ps2_mouse_write(&m, 0xeb);
	CHECK_EQ(mread(&m), 0xfa);
	CHECK_EQ(mread(&m), 0x08);
	CHECK_EQ(mread(&m), 7);
	CHECK_EQ(mread(&m), 0);
	/* Wrap mode echoes everything but 0xec/0xff. */
	ps2_mouse_write(&m, 0xee);
	CHECK_EQ(mread(&m), 0xfa);
	ps2_mouse_write(&m, 0x55);
	CHECK_EQ(mread(&m), 0x55);
	ps2_mouse_write(&m, 0xec);
	CHECK_EQ(mread(&m), 0xfa);
	ps2_mouse_write(&m, 0xf2);
	CHECK_EQ(mread(&m), 0xfa);
	/* Resolution > 3 is refused. */
	ps2_mouse_write(&m, 0xe8);
	ps2_mouse_write(&m, 9);
	mread(&m);
	mread(&m);
	CHECK_EQ(mread(&m), 0xfe);
}

static void test_hostile(void)
{
	struct ps2_kbd k;
	struct ps2_mouse m;
	unsigned i;

	ps2_kbd_init(&k, NULL, NULL);
	ps2_mouse_init(&m, NULL, NULL);
	srand(99);
	for (i = 0; i < 300000; i++) {
		switch (rand() % 6) {
		case 0:
			ps2_kbd_write(&k, (uint8_t)rand());
			break;
		case 1:
			ps2_mouse_write(&m, (uint8_t)rand());
			break;
		case 2:
			ps2_kbd_key(&k, (unsigned)rand() % 300, rand() & 1);
			break;
		case 3:
			ps2_mouse_event(&m, rand() - RAND_MAX / 2, rand() - RAND_MAX / 2,
					rand() % 20 - 10, (unsigned)rand());
			break;
		case 4:
			if (rand() & 1)
				kread(&k);
			else
				mread(&m);
			break;
		default:
			break;
		}
		if (!ps2_queue_valid(&k.q) || !ps2_queue_valid(&m.q) || k.set < 1 || k.set > 3) {
			CHECK(0);
			break;
		}
	}
	CHECK(ps2_queue_valid(&k.q) && ps2_queue_valid(&m.q));
	/* CVE-2017-16845: out-of-range indices (restored state) are detected... */
	k.q.rptr = PS2_QUEUE_SIZE + 7;
	CHECK(!ps2_queue_valid(&k.q));
	k.q.rptr = 0;
	k.q.count = PS2_QUEUE_SIZE + 1;
	CHECK(!ps2_queue_valid(&k.q));
	/* ...and even unchecked, reads stay inside the buffer. */
	k.q.rptr = 0xffff;
	k.q.count = 3;
	for (i = 0; i < 3; i++)
		CHECK(kread(&k) >= 0);
	CHECK(ps2_queue_valid(&k.q));
}

int main(void)
{
	test_encode();
	test_xlat();
	test_kbd_commands();
	test_mouse_ids();
	test_mouse_packets();
	test_hostile();
	return tap_done();
}
