// SPDX-License-Identifier: MIT
/*
 * test_sdl_keys.c - the SDL scancode (USB HID usage) to Linux keycode table
 * of ui/sdl.c, checked against two independent sources: SDL's own scancode
 * names (when built with SDL) and the input router's QKeyCode names, plus
 * the PC scancode identities from the Linux header (KEY_A == 30 ...).
 */
#include <ctype.h>
#include <errno.h>
#include <linux/input-event-codes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "sdl.h"
#include "tap.h"

#ifdef HVM_HAVE_SDL
#include <SDL.h>

/*
 * Every letter, digit and F1-F12 scancode SDL names ("A", "7", "F5") must map
 * to the key the router names the same way ("a", "7", "f5").
 */
static void check_against_sdl_names(void)
{
	unsigned sc, checked = 0;

	for (sc = 0; sc < SDL_NUM_SCANCODES; sc++) {
		const char *name = SDL_GetScancodeName((SDL_Scancode)sc);
		const char *mine;
		char lower[16];
		size_t i, n = strlen(name);
		unsigned k;

		if (!n || n >= sizeof(lower))
			continue;
		if (!(n == 1 && isalnum((unsigned char)name[0])) &&
		    !(name[0] == 'F' && n <= 3 && isdigit((unsigned char)name[1])))
			continue;
		if (name[0] == 'F' && n > 1 && atoi(name + 1) > 12)
			continue;
		for (i = 0; i <= n; i++)
			lower[i] = (char)tolower((unsigned char)name[i]);
		k = sdl_scancode_to_keycode(sc);
		mine = k ? input_keycode_name(k) : NULL;
		CHECK(mine && !strcmp(mine, lower));
		if (!mine || strcmp(mine, lower))
			printf("# scancode %u (%s) -> key %u (%s)\n", sc, name, k,
			       mine ? mine : "-");
		checked++;
	}
	CHECK_EQ(checked, 26 + 10 + 12);
	CHECK_EQ(sdl_scancode_to_keycode(SDL_SCANCODE_LCTRL), KEY_LEFTCTRL);
	CHECK_EQ(sdl_scancode_to_keycode(SDL_SCANCODE_RALT), KEY_RIGHTALT);
	CHECK_EQ(sdl_scancode_to_keycode(SDL_SCANCODE_KP_ENTER), KEY_KPENTER);
	CHECK_EQ(sdl_scancode_to_keycode(SDL_SCANCODE_NONUSBACKSLASH), KEY_102ND);
	CHECK_EQ(sdl_scancode_to_keycode(SDL_SCANCODE_PRINTSCREEN), KEY_SYSRQ);
	CHECK(sdl_available());
}
#else
static void check_against_sdl_names(void)
{
	CHECK(!sdl_available());
	CHECK_EQ(sdl_start(NULL, NULL), -ENOTSUP);
}
#endif

int main(void)
{
	unsigned sc, mapped = 0;

	check_against_sdl_names();
	/* HID usage 0x04 is 'a', which is PC set 1 make code 0x1e. */
	CHECK_EQ(sdl_scancode_to_keycode(0x04), 0x1e);
	CHECK_EQ(sdl_scancode_to_keycode(0x28), KEY_ENTER);
	CHECK_EQ(sdl_scancode_to_keycode(0x29), KEY_ESC);
	CHECK_EQ(sdl_scancode_to_keycode(0x52), KEY_UP);
	/* Reserved, out-of-range and unmapped usages give 0. */
	CHECK_EQ(sdl_scancode_to_keycode(0), 0);
	CHECK_EQ(sdl_scancode_to_keycode(0xe8), 0);
	CHECK_EQ(sdl_scancode_to_keycode(100000), 0);
	CHECK_EQ(sdl_scancode_to_keycode(~0u), 0);
	/* Every mapped key has a name the router knows (QMP send-key can reach it too). */
	for (sc = 0; sc < 0x100; sc++) {
		unsigned k = sdl_scancode_to_keycode(sc);

		if (!k)
			continue;
		mapped++;
		CHECK(k < 0x100);
	}
	CHECK(mapped >= 140);
	return tap_done();
}
