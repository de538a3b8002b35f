// SPDX-License-Identifier: MIT
/*
 * test_keymap.c - keysym tables per layout and XT scancode decoding.
 */
#include <linux/input-event-codes.h>
#include <string.h>

#include "keymap.h"
#include "tap.h"

int main(void)
{
	const struct keymap *us = keymap_find(NULL), *de = keymap_find("de"),
			    *fr = keymap_find("fr");

	CHECK(us && de && fr);
	CHECK(keymap_find("xx-nope") == NULL);
	CHECK(strstr(keymap_names(), "ja") != NULL);
	CHECK_EQ(keymap_keysym(us, 'a'), KEY_A);
	CHECK_EQ(keymap_keysym(us, 'A'), KEY_A); /* Shift is a separate event */
	CHECK_EQ(keymap_keysym(us, '!'), KEY_1);
	CHECK_EQ(keymap_keysym(us, 0xff0d), KEY_ENTER);
	CHECK_EQ(keymap_keysym(us, 0xffbe), KEY_F1);
	CHECK_EQ(keymap_keysym(us, 0x12345678), 0);
	CHECK_EQ(keymap_keysym(de, 'y'), KEY_Z);
	CHECK_EQ(keymap_keysym(de, 'z'), KEY_Y);
	CHECK_EQ(keymap_keysym(de, 0xfc), KEY_LEFTBRACE); /* u umlaut */
	CHECK_EQ(keymap_keysym(de, 0xdc), KEY_LEFTBRACE); /* capital U umlaut */
	CHECK_EQ(keymap_keysym(de, 'b'), KEY_B);	  /* falls back to the common rows */
	CHECK_EQ(keymap_keysym(fr, 'a'), KEY_Q);
	CHECK_EQ(keymap_keysym(fr, '1'), KEY_1);
	CHECK_EQ(keymap_keysym(keymap_find("ja"), 0xa5), KEY_YEN);
	CHECK_EQ(keymap_xt(0x1e), KEY_A);
	CHECK_EQ(keymap_xt(0xcd), KEY_RIGHT);
	CHECK_EQ(keymap_xt(0x9d), KEY_RIGHTCTRL);
	CHECK_EQ(keymap_xt(0x54), KEY_SYSRQ);
	CHECK_EQ(keymap_xt(0xffffffff), 0);
	return tap_done();
}
